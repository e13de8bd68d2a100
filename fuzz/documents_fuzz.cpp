// A document the model's code wrote into the work dir, read by inspect_file_as_text: whatever its
// bytes and name, document_to_markdown must give markdown or throw ToolError, within its limits.
// The first byte picks the file name, so one input drives every converter.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "mat/tools/documents.h"
#include "mat/tools/tool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::array kNames = {"a.pdf", "a.docx", "a.pptx", "a.xlsx", "a.zip", "a.csv",
                                        "a.tsv", "a.json", "a.xml",  "a.html", "a.txt", "a.bin"};
  if (size == 0) return 0;
  const std::string name = kNames[data[0] % kNames.size()];
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Small limits: the fuzzer reaches them with small inputs, and a run stays fast.
  mat::tools::DocumentLimits limits;
  limits.max_chars = 4'000;
  limits.max_unpacked_bytes = 1 << 20;
  limits.max_zip_entries = 64;
  try {
    const mat::tools::Document document = mat::tools::document_to_markdown(bytes, name, limits);
    // The cut leaves room for its marker line; anything far longer escaped the limit.
    if (document.markdown.size() > 4 * limits.max_chars + 200) __builtin_trap();
  } catch (const mat::tools::ToolError&) {
    // Refused with a message for the model: the documented outcome.
  }
  return 0;
}

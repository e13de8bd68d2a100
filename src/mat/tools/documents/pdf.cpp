// PDF via poppler-cpp: the text of each page under a "## Page N" heading.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-page.h>

#include <climits>
#include <memory>
#include <mutex>

#include "mat/tools/documents/converters.h"
#include "mat/tools/tool.h"

namespace mat::tools::documents {
namespace {

// Poppler prints its complaints about a damaged file to stderr, which would interleave with the
// agent's own output; the failure itself is reported through the return values.
void silence_poppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

}  // namespace

std::string pdf_to_markdown(const std::string& bytes, const std::string& file_name) {
  silence_poppler();
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    throw ToolError("'" + file_name + "' is too large for the PDF reader");
  }
  std::unique_ptr<poppler::document> document(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!document) {
    throw ToolError("'" + file_name + "' is not a readable PDF (corrupt or truncated)");
  }
  if (document->is_locked()) {
    throw ToolError("'" + file_name + "' is a password-protected PDF; its text cannot be read");
  }
  std::string out;
  const int pages = document->pages();
  for (int i = 0; i < pages; ++i) {
    out += "## Page " + std::to_string(i + 1) + "\n\n";
    std::unique_ptr<poppler::page> page(document->create_page(i));
    const poppler::byte_array text =
        page ? page->text(poppler::rectf(), poppler::page::physical_layout).to_utf8()
             : poppler::byte_array();
    std::string page_text(text.begin(), text.end());
    if (page_text.find_first_not_of(" \t\r\n\f") == std::string::npos) {
      // A scanned page is an image: say so rather than show an empty page.
      out +=
          "[no text on this page: it may be a scanned image; render it and use the visualizer "
          "tool]\n\n";
      continue;
    }
    out += page_text;
    out += page_text.back() == '\n' ? "\n" : "\n\n";
  }
  if (pages == 0) out = "[the PDF has no pages]\n";
  return out;
}

}  // namespace mat::tools::documents

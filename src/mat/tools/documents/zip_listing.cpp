// zip: what is inside (name, size), then the text-like members converted. Archives inside the
// archive are only listed: one level keeps the work bounded by this archive's limits.
#include <algorithm>

#include "mat/tools/documents/converters.h"
#include "mat/tools/tool.h"

namespace mat::tools::documents {

std::string zip_to_markdown(const ZipArchive& archive) {
  std::vector<std::vector<std::string>> listing = {{"name", "size (bytes)"}};
  for (const ZipArchive::Entry& entry : archive.entries()) {
    listing.push_back({entry.name, entry.is_directory ? "folder" : std::to_string(entry.size)});
  }
  std::string out = "## Archive contents\n\n" + markdown_table(listing) + "\n";
  const std::vector<std::string_view>& text = text_extensions();
  for (const ZipArchive::Entry& entry : archive.entries()) {
    const std::string extension = extension_of(entry.name);
    if (entry.is_directory || std::find(text.begin(), text.end(), extension) == text.end()) {
      continue;
    }
    out += "## " + entry.name + "\n\n";
    // A member that cannot be unpacked condemns the archive; one that is not what its name says
    // (bad JSON, say) should not hide the others.
    const std::string bytes = archive.read(entry.name).value_or("");
    try {
      out += *text_to_markdown(extension, bytes, entry.name) + "\n";
    } catch (const ToolError& e) {
      out += "[" + std::string(e.what()) + "]\n\n";
    }
  }
  return out;
}

}  // namespace mat::tools::documents

#include "mat/tools/documents.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "mat/tools/documents/converters.h"
#include "mat/tools/tool.h"

namespace mat::tools {
namespace {

using documents::ZipArchive;

constexpr std::string_view kSupported =
    "pdf, docx, pptx, xlsx, csv, tsv, txt, md, log, json, xml, html, zip";

bool has_magic(std::string_view bytes, std::string_view magic) {
  return bytes.starts_with(magic);
}

bool is_image(std::string_view bytes, std::string_view extension) {
  static constexpr std::array<std::string_view, 9> kExtensions = {
      ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic"};
  return has_magic(bytes, "\x89PNG") || has_magic(bytes, "\xFF\xD8\xFF") ||
         has_magic(bytes, "GIF8") || has_magic(bytes, std::string_view("II*\0", 4)) ||
         has_magic(bytes, std::string_view("MM\0*", 4)) ||
         (has_magic(bytes, "RIFF") && bytes.size() >= 12 && bytes.substr(8, 4) == "WEBP") ||
         std::find(kExtensions.begin(), kExtensions.end(), extension) != kExtensions.end();
}

// Text has no NUL bytes; checked on a prefix, which is enough to tell it from binary formats.
bool looks_like_text(std::string_view bytes) {
  return bytes.substr(0, 1 << 16).find('\0') == std::string_view::npos;
}

// Invalid UTF-8 sequences become U+FFFD: the markdown goes into JSON, which must be valid UTF-8.
std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (valid && length > 1) {
      // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xC0 || c == 0xC1 || (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
                (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// 12345 -> "12,345".
std::string with_thousands(size_t value) {
  std::string digits = std::to_string(value);
  for (size_t i = digits.size(); i > 3; i -= 3) digits.insert(i - 3, ",");
  return digits;
}

// Cuts valid UTF-8 `markdown` after `max_chars` code points, with a marker line saying how much
// was left out.
bool truncate(std::string& markdown, size_t max_chars) {
  size_t chars = 0;
  size_t cut = std::string::npos;
  for (size_t i = 0; i < markdown.size(); ++i) {
    if ((static_cast<unsigned char>(markdown[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars++ == max_chars) cut = i;
  }
  if (cut == std::string::npos) return false;
  markdown.resize(cut);
  if (!markdown.empty() && markdown.back() != '\n') markdown += '\n';
  markdown += "\n[… truncated: " + with_thousands(chars - max_chars) +
              " more characters; ask a narrower question]\n";
  return true;
}

Document convert(const std::string& bytes, const std::string& file_name,
                 const DocumentLimits& limits) {
  const std::string extension = documents::extension_of(file_name);
  if (is_image(bytes, extension)) {
    throw ToolError("'" + file_name +
                    "' is an image, not a document; use the `visualizer` tool to look at images");
  }
  const bool zip_magic = has_magic(bytes, "PK\x03\x04") || has_magic(bytes, "PK\x05\x06");
  if (extension == ".pdf" || has_magic(bytes, "%PDF-")) {
    if (!has_magic(bytes, "%PDF-")) {
      throw ToolError("'" + file_name + "' is not a valid PDF (it does not start with %PDF-)");
    }
    return {documents::pdf_to_markdown(bytes, file_name), false, "pdf"};
  }
  if (extension == ".docx" || extension == ".pptx" || extension == ".xlsx") {
    if (!zip_magic) {
      throw ToolError("'" + file_name + "' is not a valid " + extension.substr(1) +
                      " file (it is not a zip archive); the file is corrupt or misnamed");
    }
    const ZipArchive archive(bytes, file_name, limits);
    const std::string format = extension.substr(1);
    if (format == "docx") return {documents::docx_to_markdown(archive, file_name), false, format};
    if (format == "pptx") return {documents::pptx_to_markdown(archive, file_name), false, format};
    return {documents::xlsx_to_markdown(archive, file_name), false, format};
  }
  if (extension == ".zip" || zip_magic) {
    const ZipArchive archive(bytes, file_name, limits);
    return {documents::zip_to_markdown(archive), false, "zip"};
  }
  if (has_magic(bytes, "\xD0\xCF\x11\xE0")) {
    throw ToolError("'" + file_name +
                    "' is a legacy binary Office file (doc, xls or ppt), which is not supported; "
                    "supported types: " +
                    std::string(kSupported));
  }
  const std::vector<std::string_view>& text = documents::text_extensions();
  const bool known_text =
      extension.empty() || std::find(text.begin(), text.end(), extension) != text.end();
  if (looks_like_text(bytes)) {
    // An unknown extension holding text (a README, a .py file) is shown as plain text.
    const std::string_view as = known_text ? std::string_view(extension) : "";
    return {*documents::text_to_markdown(as, bytes, file_name), false,
            as.empty() ? "text" : std::string(as.substr(1))};
  }
  throw ToolError("'" + file_name + "' is a binary file of a type that cannot be read as text" +
                  (extension.empty() ? "" : " (" + extension + ")") +
                  "; supported types: " + std::string(kSupported) + ", and plain text");
}

}  // namespace

Document document_to_markdown(const std::string& bytes, const std::string& file_name,
                              const DocumentLimits& limits) {
  if (bytes.empty())
    throw ToolError("'" + file_name + "' is empty (0 bytes); there is nothing to read");
  if (bytes.size() > limits.max_file_bytes) {
    throw ToolError("'" + file_name + "' is " + with_thousands(bytes.size()) +
                    " bytes, more than the limit of " + with_thousands(limits.max_file_bytes) +
                    "; read the part you need in your code instead");
  }
  Document document = convert(bytes, file_name, limits);
  document.markdown = repair_utf8(document.markdown);
  document.truncated = truncate(document.markdown, limits.max_chars);
  return document;
}

}  // namespace mat::tools

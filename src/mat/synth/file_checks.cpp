#include "mat/synth/file_checks.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/sandbox/output_capture.h"
#include "mat/tools/documents.h"
#include "mat/tools/documents/zip_archive.h"

namespace mat::synth {
namespace {

constexpr size_t kMaxNameLength = 100;

// The part every Office file of the type holds (its main document).
const std::map<std::string, std::string>& office_main_parts() {
  static const std::map<std::string, std::string> parts{
      {"docx", "word/document.xml"}, {"xlsx", "xl/workbook.xml"}, {"pptx", "ppt/presentation.xml"}};
  return parts;
}

std::optional<std::string> zip_problem(const std::string& bytes, const std::string& name,
                                       const std::string& type) {
  if (bytes.rfind("PK\x03\x04", 0) != 0 && bytes.rfind("PK\x05\x06", 0) != 0) {
    return "it is not a zip archive (a " + type + " file is one; it starts with \"PK\")";
  }
  const tools::documents::ZipArchive archive(bytes, name, {});
  const auto part = office_main_parts().find(type);
  if (part == office_main_parts().end()) return std::nullopt;
  for (const std::string& required : {std::string("[Content_Types].xml"), part->second}) {
    if (!archive.read(required)) {
      return "the archive has no " + required + ", which every " + type + " file holds";
    }
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& extensions_of_type(const std::string& type) {
  static const std::map<std::string, std::vector<std::string>> extensions{
      {"image", {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}},
      {"pdf", {".pdf"}},
      {"docx", {".docx"}},
      {"xlsx", {".xlsx"}},
      {"pptx", {".pptx"}},
      {"csv", {".csv"}},
      {"txt", {".txt"}},
      {"json", {".json"}},
      {"html", {".html", ".htm"}},
      {"xml", {".xml"}},
      {"zip", {".zip"}},
      {"py", {".py"}},
      {"md", {".md"}}};
  static const std::vector<std::string> none;
  const auto it = extensions.find(type);
  return it == extensions.end() ? none : it->second;
}

std::optional<std::string> file_name_problem(const std::string& name, const std::string& type) {
  if (name.empty()) return "the file name is empty";
  if (name.size() > kMaxNameLength) {
    return "\"" + name + "\" is longer than " + std::to_string(kMaxNameLength) + " characters";
  }
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) == 0 && c != '.' && c != '_' && c != '-' && c != ' ') {
      return "\"" + name +
             "\" must be a plain file name: letters, digits, spaces, '.', '_' and '-' only (no "
             "folders)";
    }
  }
  if (name.front() == '.') return "\"" + name + "\" must not start with a dot";
  const std::vector<std::string>& allowed = extensions_of_type(type);
  if (allowed.empty()) return "\"" + type + "\" is not a file type";
  std::string extension = name.substr(std::min(name.size(), name.rfind('.')));
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (std::find(allowed.begin(), allowed.end(), extension) == allowed.end()) {
    std::string list;
    for (const std::string& ext : allowed) list += (list.empty() ? "" : ", ") + ext;
    return "\"" + name + "\" is a " + type + " file, so its name must end with " + list;
  }
  return std::nullopt;
}

std::optional<std::string> file_type_problem(const std::string& bytes, const std::string& name,
                                             const std::string& type) {
  if (bytes.empty()) return "the file is empty";
  try {
    if (type == "pdf" && bytes.rfind("%PDF-", 0) != 0) {
      return "it does not start with %PDF-, so it is not a PDF";
    }
    if (type == "docx" || type == "xlsx" || type == "pptx" || type == "zip") {
      if (auto problem = zip_problem(bytes, name, type)) return problem;
    } else if (type != "pdf" && type != "image") {  // the text types
      if (bytes.find('\0') != std::string::npos || sandbox::valid_utf8(bytes) != bytes) {
        return "a " + type + " file must be UTF-8 text, and it holds binary data";
      }
      if (type == "json" && !core::parse_untrusted_json(bytes)) return "it is not valid JSON";
    }
    // Finally as the agent's inspector will read it: a document it cannot convert is no use.
    if (type != "image" && type != "py") tools::document_to_markdown(bytes, name);
  } catch (const core::Error& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace mat::synth

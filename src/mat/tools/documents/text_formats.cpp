// The text formats: plain text and markdown as they are, csv/tsv as a table, json pretty-printed,
// xml as its text content, html as readable text (html.cpp).
#include <algorithm>
#include <cctype>
#include <pugixml.hpp>

#include "mat/core/json.h"
#include "mat/tools/documents/converters.h"
#include "mat/tools/tool.h"

namespace mat::tools::documents {
namespace {

// RFC 4180: fields in double quotes may hold the delimiter, newlines and doubled quotes.
std::vector<std::vector<std::string>> parse_delimited(std::string_view text, char delimiter) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool row_has_content = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
      row_has_content = true;
    } else if (c == delimiter) {
      row.push_back(std::move(field));
      field.clear();
      row_has_content = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_has_content || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      field.clear();
      row.clear();
      row_has_content = false;
    } else {
      field += c;
    }
  }
  if (row_has_content || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string json_to_markdown(std::string_view text, const std::string& file_name) {
  const std::optional<core::Json> json = core::parse_untrusted_json(text);
  if (!json) {
    throw ToolError("'" + file_name + "' is not valid JSON (or nests deeper than " +
                    std::to_string(core::kMaxJsonDepth) +
                    " levels); read it as text in your code instead");
  }
  return "```json\n" + json->dump(2, ' ', false, core::Json::error_handler_t::replace) + "\n```\n";
}

// One line per run of text, in document order; markup and attributes are dropped.
std::string xml_to_text(std::string_view text, const std::string& file_name) {
  pugi::xml_document document;
  const pugi::xml_parse_result result = document.load_buffer(text.data(), text.size());
  if (!result) {
    throw ToolError("'" + file_name + "' is not valid XML (" + result.description() + " at byte " +
                    std::to_string(result.offset) + ")");
  }
  struct Collector : pugi::xml_tree_walker {
    bool for_each(pugi::xml_node& node) override {
      if (node.type() != pugi::node_pcdata && node.type() != pugi::node_cdata) return true;
      std::string_view value = node.value();
      const size_t first = value.find_first_not_of(" \t\r\n");
      if (first == std::string_view::npos) return true;
      value = value.substr(first, value.find_last_not_of(" \t\r\n") - first + 1);
      out.append(value).append("\n");
      return true;
    }
    std::string out;
  } collector;
  document.traverse(collector);
  return collector.out.empty() ? "[the XML document has no text content]\n" : collector.out;
}

std::string plain_text(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

}  // namespace

const std::vector<std::string_view>& text_extensions() {
  static const std::vector<std::string_view> kExtensions = {
      ".txt", ".md", ".markdown", ".log", ".csv", ".tsv", ".json", ".xml", ".html", ".htm"};
  return kExtensions;
}

std::optional<std::string> text_to_markdown(std::string_view extension, std::string_view text,
                                            const std::string& file_name) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  if (extension == ".txt" || extension == ".md" || extension == ".markdown" ||
      extension == ".log" || extension.empty()) {
    return plain_text(text);
  }
  if (extension == ".csv" || extension == ".tsv") {
    const auto rows = parse_delimited(text, extension == ".csv" ? ',' : '\t');
    return rows.empty() ? "[the table is empty]\n" : markdown_table(rows);
  }
  if (extension == ".json") return json_to_markdown(text, file_name);
  if (extension == ".xml") return xml_to_text(text, file_name);
  if (extension == ".html" || extension == ".htm") return html_to_text(text);
  return std::nullopt;
}

std::string markdown_table(const std::vector<std::vector<std::string>>& rows) {
  size_t width = 1;
  for (const auto& row : rows) width = std::max(width, row.size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t i = 0; i < width; ++i) {
      out += ' ';
      if (i < cells.size()) {
        for (const char c : cells[i]) {
          if (c == '|') {
            out += "\\|";
          } else if (c == '\n' || c == '\r' || c == '\t') {
            out += ' ';
          } else {
            out += c;
          }
        }
      }
      out += " |";
    }
    return out + "\n";
  };
  std::string out = line(rows.front());
  out += "|";
  for (size_t i = 0; i < width; ++i) out += " --- |";
  out += "\n";
  for (size_t i = 1; i < rows.size(); ++i) out += line(rows[i]);
  return out;
}

std::string extension_of(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string out(base.substr(dot));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace mat::tools::documents

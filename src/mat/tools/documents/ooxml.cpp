// docx and pptx: Word paragraphs (headings by style) and tables; PowerPoint slides in their order.
#include <algorithm>
#include <cctype>

#include "mat/tools/documents/converters.h"
#include "mat/tools/documents/ooxml_parts.h"

namespace mat::tools::documents {
namespace {

// Wrappers (content controls, tracked insertions, custom XML) nest; deeper than this is hostile.
constexpr int kMaxNesting = 64;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "Title" -> 1, "heading 2" / "Heading2" -> 2, anything else -> 0.
int heading_level(std::string_view style) {
  const std::string name = lower(style);
  if (name == "title") return 1;
  if (!name.starts_with("heading")) return 0;
  const size_t digit = name.find_first_not_of(' ', 7);
  if (digit == std::string::npos || digit + 1 != name.size() || name[digit] < '1' ||
      name[digit] > '9') {
    return 0;
  }
  return name[digit] - '0';
}

// Style id -> heading level. The id is what paragraphs name; the style's name is what says it is
// a heading, also in documents whose ids are localized ("Überschrift1").
std::map<std::string, int> heading_styles(const ZipArchive& archive) {
  std::map<std::string, int> out;
  const std::optional<std::string> xml = archive.read("word/styles.xml");
  pugi::xml_document document;
  if (!xml || !document.load_buffer(xml->data(), xml->size())) return out;
  for (const pugi::xml_node& style : document.document_element().children()) {
    if (local_name(style) != "style") continue;
    const int level = std::max(heading_level(attribute(child(style, "name"), "val").value()),
                               heading_level(attribute(style, "styleId").value()));
    if (level > 0) out[attribute(style, "styleId").value()] = level;
  }
  return out;
}

std::string docx_paragraph(const pugi::xml_node& paragraph,
                           const std::map<std::string, int>& headings) {
  std::string text = run_text(paragraph, "");
  if (text.find_first_not_of(" \t\n") == std::string::npos) return "";
  const pugi::xml_node properties = child(paragraph, "pPr");
  const std::string style = attribute(child(properties, "pStyle"), "val").value();
  const auto heading = headings.find(style);
  const int level = heading != headings.end() ? heading->second : heading_level(style);
  if (level > 0) return std::string(static_cast<size_t>(level), '#') + " " + text + "\n\n";
  if (child(properties, "numPr")) return "- " + text + "\n\n";
  return text + "\n\n";
}

std::string docx_table(const pugi::xml_node& table) {
  std::vector<std::vector<std::string>> rows;
  for (const pugi::xml_node& row : table.children()) {
    if (local_name(row) != "tr") continue;
    std::vector<std::string>& cells = rows.emplace_back();
    for (const pugi::xml_node& cell : row.children()) {
      if (local_name(cell) != "tc") continue;
      cells.push_back(run_text(cell, " "));
      // A merged cell spans grid columns; empty cells after it keep later cells in their columns.
      const int span = attribute(child(child(cell, "tcPr"), "gridSpan"), "val").as_int(1);
      for (int i = 1; i < std::clamp(span, 1, 64); ++i) cells.emplace_back();
    }
  }
  return rows.empty() ? "" : markdown_table(rows) + "\n";
}

void docx_blocks(const pugi::xml_node& parent, const std::map<std::string, int>& headings,
                 std::string& out, int depth) {
  for (const pugi::xml_node& node : parent.children()) {
    const std::string_view name = local_name(node);
    if (name == "p") {
      out += docx_paragraph(node, headings);
    } else if (name == "tbl") {
      out += docx_table(node);
    } else if (depth < kMaxNesting) {
      docx_blocks(node, headings, out, depth + 1);
    }
  }
}

std::string pptx_table(const pugi::xml_node& table) {
  std::vector<std::vector<std::string>> rows;
  for (const pugi::xml_node& row : table.children()) {
    if (local_name(row) != "tr") continue;
    std::vector<std::string>& cells = rows.emplace_back();
    for (const pugi::xml_node& cell : row.children()) {
      if (local_name(cell) == "tc") cells.push_back(run_text(cell, " "));
    }
  }
  return rows.empty() ? "" : markdown_table(rows) + "\n";
}

void pptx_shapes(const pugi::xml_node& tree, std::string& out, int depth) {
  for (const pugi::xml_node& shape : tree.children()) {
    const std::string_view name = local_name(shape);
    if (name == "sp") {
      const std::string text = run_text(child(shape, "txBody"), "\n");
      if (text.find_first_not_of(" \t\n") == std::string::npos) continue;
      const std::string_view placeholder =
          attribute(child(child(child(shape, "nvSpPr"), "nvPr"), "ph"), "type").value();
      const bool title = placeholder == "title" || placeholder == "ctrTitle";
      out += (title ? "### " : "") + text + "\n\n";
    } else if (name == "graphicFrame") {
      const pugi::xml_node table = child(child(child(shape, "graphic"), "graphicData"), "tbl");
      if (table) out += pptx_table(table);
    } else if (name == "pic") {
      const std::string_view description =
          attribute(child(child(shape, "nvPicPr"), "cNvPr"), "descr").value();
      if (!description.empty()) out += "[picture: " + std::string(description) + "]\n\n";
    } else if (name == "grpSp" && depth < kMaxNesting) {
      pptx_shapes(shape, out, depth + 1);
    }
  }
}

}  // namespace

std::string docx_to_markdown(const ZipArchive& archive, const std::string& file_name) {
  const pugi::xml_document document = parse_part(archive, "word/document.xml", "docx", file_name);
  std::string out;
  docx_blocks(child(document.document_element(), "body"), heading_styles(archive), out, 0);
  return out.empty() ? "[the document has no text]\n" : out;
}

std::string pptx_to_markdown(const ZipArchive& archive, const std::string& file_name) {
  constexpr std::string_view kPresentation = "ppt/presentation.xml";
  const pugi::xml_document presentation = parse_part(archive, kPresentation, "pptx", file_name);
  const std::map<std::string, std::string> targets = relationships(archive, kPresentation);
  std::string out;
  int number = 0;
  for (const pugi::xml_node& slide_id :
       child(presentation.document_element(), "sldIdLst").children()) {
    const auto target = targets.find(std::string(relationship_id(slide_id)));
    if (target == targets.end()) continue;
    out += "## Slide " + std::to_string(++number) + "\n\n";
    const pugi::xml_document slide = parse_part(archive, target->second, "pptx", file_name);
    pptx_shapes(child(child(slide.document_element(), "cSld"), "spTree"), out, 0);
  }
  return number == 0 ? "[the presentation has no slides]\n" : out;
}

}  // namespace mat::tools::documents

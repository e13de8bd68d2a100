// xlsx: each sheet as a markdown table whose columns are the sheet's (A, B, ...) and whose first
// column is the row number, so the model can name any cell and empty cells keep columns aligned.
#include <algorithm>
#include <charconv>

#include "mat/tools/documents/converters.h"
#include "mat/tools/documents/ooxml_parts.h"

namespace mat::tools::documents {
namespace {

// Past this many grid cells (used rows x column span) a table would be mostly padding, as in a
// sheet with one cell in column A and one in XFD: such a sheet is listed cell by cell instead.
constexpr uint64_t kMaxGridCells = 1'000'000;
constexpr uint32_t kMaxColumn = 16'384;  // XFD, Excel's last column

struct Cell {
  uint32_t row = 0;     // 1-based
  uint32_t column = 0;  // 1-based
  std::string value;
};

std::string column_name(uint32_t column) {
  std::string name;
  for (; column > 0; column = (column - 1) / 26) {
    name.insert(name.begin(), static_cast<char>('A' + (column - 1) % 26));
  }
  return name;
}

// "BC12" -> column 55, row 12. False when `reference` is not a cell reference.
bool parse_reference(std::string_view reference, uint32_t& column, uint32_t& row) {
  size_t i = 0;
  uint32_t parsed_column = 0;
  for (; i < reference.size() && reference[i] >= 'A' && reference[i] <= 'Z'; ++i) {
    parsed_column = parsed_column * 26 + static_cast<uint32_t>(reference[i] - 'A' + 1);
    if (parsed_column > kMaxColumn) return false;
  }
  uint32_t parsed_row = 0;
  const auto [end, error] =
      std::from_chars(reference.data() + i, reference.data() + reference.size(), parsed_row);
  if (i == 0 || error != std::errc() || end != reference.data() + reference.size() ||
      parsed_row == 0) {
    return false;
  }
  column = parsed_column;
  row = parsed_row;
  return true;
}

std::vector<std::string> shared_strings(const ZipArchive& archive, const std::string& workbook,
                                        const std::string& file_name) {
  std::vector<std::string> out;
  const std::string part = related_part(archive, workbook, "/sharedStrings");
  if (part.empty()) return out;
  const pugi::xml_document document = parse_part(archive, part, "xlsx", file_name);
  for (const pugi::xml_node& item : document.document_element().children()) {
    if (local_name(item) == "si") out.push_back(run_text(item, ""));
  }
  return out;
}

std::string cell_value(const pugi::xml_node& cell, const std::vector<std::string>& strings) {
  const std::string_view type = cell.attribute("t").value();
  const std::string_view value = child(cell, "v").text().get();
  if (type == "inlineStr") return run_text(child(cell, "is"), "");
  if (type == "b") return value == "1" ? "TRUE" : "FALSE";
  if (type == "s") {
    size_t index = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), index);
    return error == std::errc() && index < strings.size() ? strings[index] : "";
  }
  return std::string(value);  // numbers, formula results ("str") and errors ("e") as written
}

std::vector<Cell> sheet_cells(const pugi::xml_document& sheet,
                              const std::vector<std::string>& strings) {
  std::vector<Cell> cells;
  uint32_t row_number = 0;
  for (const pugi::xml_node& row : child(sheet.document_element(), "sheetData").children()) {
    if (local_name(row) != "row") continue;
    // Rows and cells may omit their reference; then each follows the previous one.
    row_number = std::max(row_number + 1, row.attribute("r").as_uint(row_number + 1));
    uint32_t column = 0;
    for (const pugi::xml_node& cell : row.children()) {
      if (local_name(cell) != "c") continue;
      uint32_t cell_row = row_number;
      if (!parse_reference(cell.attribute("r").value(), column, cell_row)) ++column;
      if (column == 0 || column > kMaxColumn) continue;
      std::string value = cell_value(cell, strings);
      if (!value.empty()) cells.push_back({cell_row, column, std::move(value)});
    }
  }
  return cells;
}

std::string sheet_markdown(std::vector<Cell> cells) {
  if (cells.empty()) return "[empty sheet]\n\n";
  std::stable_sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return a.row != b.row ? a.row < b.row : a.column < b.column;
  });
  uint32_t first = kMaxColumn;
  uint32_t last = 0;
  uint64_t rows = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    first = std::min(first, cells[i].column);
    last = std::max(last, cells[i].column);
    if (i == 0 || cells[i].row != cells[i - 1].row) ++rows;
  }
  const uint32_t width = last - first + 1;
  if (rows * width > kMaxGridCells) {
    std::string out = "[sparse sheet: its cells, by reference]\n\n";
    for (const Cell& cell : cells) {
      out += column_name(cell.column) + std::to_string(cell.row) + ": " + cell.value + "\n";
    }
    return out + "\n";
  }
  std::vector<std::vector<std::string>> table;
  std::vector<std::string>& header = table.emplace_back(1, "row");
  for (uint32_t column = first; column <= last; ++column) header.push_back(column_name(column));
  for (const Cell& cell : cells) {
    if (table.size() == 1 || table.back().front() != std::to_string(cell.row)) {
      table.emplace_back(width + 1).front() = std::to_string(cell.row);
    }
    table.back()[cell.column - first + 1] = cell.value;  // a repeated reference: the last wins
  }
  return markdown_table(table) + "\n";
}

}  // namespace

std::string xlsx_to_markdown(const ZipArchive& archive, const std::string& file_name) {
  constexpr std::string_view kWorkbook = "xl/workbook.xml";
  const pugi::xml_document workbook = parse_part(archive, kWorkbook, "xlsx", file_name);
  const std::map<std::string, std::string> targets = relationships(archive, kWorkbook);
  const std::vector<std::string> strings =
      shared_strings(archive, std::string(kWorkbook), file_name);
  std::string out;
  for (const pugi::xml_node& sheet : child(workbook.document_element(), "sheets").children()) {
    const auto target = targets.find(std::string(relationship_id(sheet)));
    if (target == targets.end()) continue;
    out += "## Sheet " + std::string(sheet.attribute("name").value()) + "\n\n";
    const pugi::xml_document part = parse_part(archive, target->second, "xlsx", file_name);
    out += sheet_markdown(sheet_cells(part, strings));
  }
  return out.empty() ? "[the workbook has no sheets]\n" : out;
}

}  // namespace mat::tools::documents

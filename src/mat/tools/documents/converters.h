// The per-format converters behind document_to_markdown (internal to mat_tools). Each returns
// markdown, possibly with invalid UTF-8 from the input (the caller repairs it), and throws
// ToolError naming `file_name` when the input is corrupt.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/tools/documents.h"
#include "mat/tools/documents/zip_archive.h"

namespace mat::tools::documents {

std::string pdf_to_markdown(const std::string& bytes, const std::string& file_name);

std::string docx_to_markdown(const ZipArchive& archive, const std::string& file_name);
std::string pptx_to_markdown(const ZipArchive& archive, const std::string& file_name);
std::string xlsx_to_markdown(const ZipArchive& archive, const std::string& file_name);

// A listing of the members, then the text-like members converted (one level: no nested archives).
std::string zip_to_markdown(const ZipArchive& archive);

// The text formats, chosen by `extension` (lower case, with the dot): txt/md/log as is, csv/tsv as
// a table, json pretty-printed, xml's text content, html's readable text. nullopt when
// `extension` is not one of them.
std::optional<std::string> text_to_markdown(std::string_view extension, std::string_view text,
                                            const std::string& file_name);
// The extensions text_to_markdown handles, for the "supported types" message.
const std::vector<std::string_view>& text_extensions();

std::string html_to_text(std::string_view html);

// A markdown table; the first row is the header. Rows are padded to the widest, and '|' and
// newlines in cells are escaped so a cell never breaks the table.
std::string markdown_table(const std::vector<std::vector<std::string>>& rows);

// The lower-case extension of `name`, with the dot ("" when there is none).
std::string extension_of(std::string_view name);

}  // namespace mat::tools::documents

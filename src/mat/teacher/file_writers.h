// Python that writes a task's document in the current directory, as the teacher answers the
// file_code stage (and as `mat teacher tasks` makes the evaluation files, through the sandbox).
// Only what Debian's python3 has: csv, openpyxl, zipfile (docx), matplotlib's PdfPages (pdf).
#pragma once

#include <string>
#include <vector>

#include "mat/core/json.h"

namespace mat::teacher {

// A table (the first row its header) as a csv or xlsx file.
std::string table_writer(const std::string& name, const std::string& type, const core::Json& rows);

// Lines of text as a docx, pdf or txt file.
std::string text_writer(const std::string& name, const std::string& type,
                        const std::vector<std::string>& lines);

}  // namespace mat::teacher

// What a synthesised task file must be: a plain name whose extension fits its declared type, and
// bytes that really are of that type (magic numbers and structure, parsed as hostile input, since
// a teacher-written script made them in the sandbox).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mat::synth {

// The extensions a file of `type` (one of known_file_types()) may have, lower case with the dot;
// the first is the usual one.
const std::vector<std::string>& extensions_of_type(const std::string& type);

// Why `name` cannot be the name of a task file of `type` (a path, hidden, too long, odd
// characters, an extension that does not fit), or nullopt when it can.
std::optional<std::string> file_name_problem(const std::string& name, const std::string& type);

// Why `bytes`, the file `name`, is not a file of `type` (pdf starts with %PDF-; docx, xlsx, pptx
// are zip archives holding their main part; zip opens; json parses; the text types are UTF-8
// without NUL bytes; documents convert to text as the agent's inspector reads them), or nullopt
// when it is one.
std::optional<std::string> file_type_problem(const std::string& bytes, const std::string& name,
                                             const std::string& type);

}  // namespace mat::synth

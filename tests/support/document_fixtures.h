// Documents built byte by byte for tests and benchmarks, so that no fixture file is needed.
#pragma once

#include <string>
#include <vector>

namespace mat::testing {

// A PDF with one page per string, each showing its text in Helvetica (a line per '\n'), with a
// correct xref table.
// The strings must not hold '(', ')' or '\\' (they go into PDF string literals as they are).
std::string make_pdf(const std::vector<std::string>& pages);

}  // namespace mat::testing

// GAIA's official quasi-exact-match scorer (question_scorer of the GAIA leaderboard), rule for
// rule as ../shared/spec/benchmarks.md describes it, with Python's float(), whitespace, case and
// string.punctuation reproduced exactly (text.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mat::eval {

// Python's float(text): surrounding whitespace allowed, an optional sign, decimal digits with
// single '_' between them, an optional fraction and exponent, or inf / infinity / nan in any case.
// nullopt where float() raises ValueError. Digits other than ASCII are not accepted.
std::optional<double> parse_python_float(std::string_view text);

// Whether `answer` (nullopt: the model gave none, scored as the string "None") matches
// `ground_truth`:
// - a ground truth that parses as a number: the answer without '$', '%' and ',' parses to the same
//   number (other units make it wrong: "17 km" is not 17);
// - one that holds ',' or ';': both split on [,;] into lists of equal length, compared element by
//   element, numbers as above and other elements without whitespace, lower-cased, punctuation kept;
// - any other: equal without whitespace, lower-cased, without ASCII punctuation.
bool gaia_correct(const std::optional<std::string>& answer, std::string_view ground_truth);

}  // namespace mat::eval

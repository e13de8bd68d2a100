// GAIA's quasi exact match, case by case. The expected verdicts are those of the official Python
// question_scorer; most cases are ones a plausible reimplementation gets wrong (stripping every
// unit, trimming list elements' punctuation, Unicode punctuation, Python's float() syntax).
#include "mat/eval/gaia_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace mat::eval {
namespace {

struct GaiaCase {
  std::optional<std::string> answer;  // nullopt: the model gave none
  std::string truth;
  bool correct;
};

std::string shown(const std::optional<std::string>& answer) {
  return answer ? "'" + *answer + "'" : "None";
}

void expect_official_verdicts(const std::vector<GaiaCase>& cases) {
  for (const GaiaCase& c : cases) {
    EXPECT_EQ(gaia_correct(c.answer, c.truth), c.correct)
        << shown(c.answer) << " against '" << c.truth << "'";
  }
}

TEST(QuasiExactMatch, NumbersWithDollarPercentAndCommasOnly) {
  expect_official_verdicts(
      {GaiaCase{"17", "17", true}, GaiaCase{"17 km", "17", false},  // units stay
       GaiaCase{"$1,000", "1000", true}, GaiaCase{"12.5%", "12.5", true},
       GaiaCase{"50%", "0.5", false}, GaiaCase{"3.0", "3", true}, GaiaCase{" 3 ", "3", true},
       GaiaCase{"12\u00a0", "12", true}, GaiaCase{"three", "3", false},
       GaiaCase{"1e3", "1000", true}, GaiaCase{"1_000", "1000", true},
       GaiaCase{"1__000", "1000", false}, GaiaCase{"1_000_", "1000", false},
       GaiaCase{"12 000", "12000", false}, GaiaCase{"0x10", "16", false},
       GaiaCase{"+.5", "0.5", true}, GaiaCase{"5.", "5", true}, GaiaCase{"", "5", false},
       GaiaCase{std::nullopt, "5", false}});
}

TEST(QuasiExactMatch, ListsElementByElement) {
  expect_official_verdicts(
      {GaiaCase{"a,b,c", "a, b, c", true}, GaiaCase{"a; b; c", "a, b, c", true},
       GaiaCase{"a, b", "a, b, c", false}, GaiaCase{"1,2,", "1, 2", false},
       GaiaCase{"a,,b", "a, b", false}, GaiaCase{"1.0, $2.50, Apple", "1, 2.5, apple", true},
       // Punctuation is kept inside list elements, removed in plain strings.
       GaiaCase{"paris, St Louis", "Paris, St. Louis", false}, GaiaCase{"(a),b", "a, b", false},
       // A number with a thousands separator is not a float: it is a list.
       GaiaCase{"1000", "1,000", false}, GaiaCase{"1,000", "1,000", true},
       GaiaCase{"right.", "Right,", false}});
}

TEST(QuasiExactMatch, StringsWithoutWhitespaceCaseAndAsciiPunctuation) {
  expect_official_verdicts({GaiaCase{"st louis", "St. Louis", true},
                            GaiaCase{"Seagull", "sea gull", true},
                            GaiaCase{"sea\u00a0gull", "seagull", true},  // Unicode whitespace
                            GaiaCase{"Don't", "dont", true},
                            GaiaCase{"don\u2019t", "dont", false},  // only ASCII punctuation goes
                            GaiaCase{"ÉCOLE", "école", true}, GaiaCase{"Right.", "right", true},
                            // No answer is scored as the string "None".
                            GaiaCase{std::nullopt, "None", true}});
}

TEST(PythonFloat, AcceptsWhatFloatAccepts) {
  EXPECT_EQ(parse_python_float("1e1_0"), 1e10);
  EXPECT_EQ(parse_python_float("-2.5E-1"), -0.25);
  EXPECT_EQ(parse_python_float("\t7\n"), 7.0);
  EXPECT_EQ(parse_python_float("-Infinity"), -INFINITY);
  EXPECT_EQ(parse_python_float("1e500"), INFINITY);
  EXPECT_TRUE(std::isnan(parse_python_float("NaN").value()));
  for (const char* bad : {"", ".", "e5", "1e", "1._5", "_1", "1 2", "--1", "in"}) {
    EXPECT_EQ(parse_python_float(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace mat::eval

// GTA's answer rules, case by case: each case is one a naive implementation gets wrong (a plain
// substring search, ASCII-only \b, an unescaped regex, ignoring the blacklist). The expected
// verdicts are those of the official Python code (re.search with \b and re.IGNORECASE).
#include "mat/eval/gta_scorer.h"

#include <gtest/gtest.h>

#include <string>

namespace mat::eval {
namespace {

struct BoundaryCase {
  std::string answer;
  std::string alias;
  bool official;  // re.search(r'\b' + re.escape(alias) + r'\b', answer, re.I)
  bool mat;       // alias.lower() in answer.lower()
};

const BoundaryCase kBoundaryCases[] = {
    // A digit inside a longer number: official wrong, MAT-style right.
    BoundaryCase{"14 apples", "4", false, true}, BoundaryCase{"There are 4.", "4", true, true},
    BoundaryCase{"3.14", "14", true, true}, BoundaryCase{"x_4", "4", false, true},
    BoundaryCase{"Two apples", "two", true, true}, BoundaryCase{"ProMax", "Pro", false, true},
    // Aliases that begin or end with a non-word character need a word character beside them.
    BoundaryCase{"The answer is -2", "-2", false, true}, BoundaryCase{"x-2", "-2", true, true},
    BoundaryCase{"50% off", "50%", false, true}, BoundaryCase{"50%off", "50%", true, true},
    BoundaryCase{"price: $2697", "$2697", false, true},
    BoundaryCase{"US$2697", "$2697", true, true}, BoundaryCase{"use C++", "C++", false, true},
    // The alias is text, not a pattern.
    BoundaryCase{"axb", "a.b", false, false}, BoundaryCase{"a.b", "a.b", true, true},
    // Unicode: letters beyond ASCII are word characters, symbols are not, case folds.
    BoundaryCase{"café", "caf", false, true}, BoundaryCase{"25°C", "25", true, true},
    BoundaryCase{"Σ4", "4", false, true}, BoundaryCase{"25 m²", "25 m", false, true},
    BoundaryCase{"ÉCOLE", "école", true, true}, BoundaryCase{"ÉCOLE", "ecole", false, false},
    BoundaryCase{"\xE2\x84\xAA", "k", true, true},  // KELVIN SIGN lower-cases to k
};

TEST(GtaScorers, MatchLikePythonsReAndSubstringSearch) {
  for (const BoundaryCase& c : kBoundaryCases) {
    SCOPED_TRACE("'" + c.alias + "' in '" + c.answer + "'");
    EXPECT_EQ(matches_at_word_boundaries(c.answer, c.alias), c.official);
    EXPECT_EQ(official_correct(c.answer, {{c.alias}}, {}), c.official);
    EXPECT_EQ(mat_correct(c.answer, {{c.alias}}), c.mat);
  }
}

TEST(GtaOfficial, EveryWhitelistGroupIsRequired) {
  const AliasGroups whitelist = {{"red"}, {"blue", "navy"}};
  EXPECT_TRUE(official_correct("red and navy", whitelist, {}));
  EXPECT_FALSE(official_correct("red only", whitelist, {}));
  EXPECT_TRUE(mat_correct("Red and NAVY", whitelist));
  EXPECT_FALSE(mat_correct("red only", whitelist));
}

TEST(GtaOfficial, AnyBlacklistAliasOfAnyGroupExcludesTheAnswer) {
  const AliasGroups whitelist = {{"40HX"}, {"90HX"}};
  const AliasGroups blacklist = {{"30HX"}, {"50HX", "60HX"}};
  EXPECT_TRUE(official_correct("40HX and 90HX", whitelist, blacklist));
  EXPECT_FALSE(official_correct("40HX, 90HX, or 60hx", whitelist, blacklist));
  // The blacklist matches at word boundaries too: "Pro" is not in "ProMotion".
  EXPECT_TRUE(official_correct("iPhone 15 ProMotion", {{"iPhone 15"}}, {{"Pro"}}));
  EXPECT_FALSE(official_correct("iPhone 15 Pro", {{"iPhone 15"}}, {{"Pro"}}));
  // MAT's scorer ignores the blacklist.
  EXPECT_TRUE(mat_correct("40HX, 90HX, or 60hx", whitelist));
}

TEST(GtaOfficial, EmptyAnswersAreWrong) {
  EXPECT_FALSE(official_correct("", {{"4"}}, {}));
  EXPECT_FALSE(mat_correct("", {{"4"}}));
}

TEST(GtaOfficial, BoundaryQuirkNeedsAGroupWhoseEveryAliasHasANonWordEdge) {
  EXPECT_TRUE(has_boundary_quirk({{"-2"}}));
  EXPECT_TRUE(has_boundary_quirk({{"4"}, {"-\\sqrt{2}", "-sqrt(2)"}}));
  EXPECT_TRUE(has_boundary_quirk({{"$2697"}}));
  EXPECT_FALSE(has_boundary_quirk({{"50%", "50 percent"}}));  // one alias can still match
  EXPECT_FALSE(has_boundary_quirk({{"12:15am-7:50pm"}}));     // inner punctuation is fine
}

}  // namespace
}  // namespace mat::eval

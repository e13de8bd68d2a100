// core::escape_markup: every character that could end text or an attribute in HTML or SVG.
#include "mat/core/markup.h"

#include <gtest/gtest.h>

namespace mat::core {
namespace {

TEST(Markup, EscapesWhatCouldEndTextOrAnAttribute) {
  EXPECT_EQ(escape_markup("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(escape_markup("plain text"), "plain text");
}

}  // namespace
}  // namespace mat::core

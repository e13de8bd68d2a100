#include "mat/agent/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mat::agent {
namespace {

using ::testing::HasSubstr;

ParsedStep parsed(std::string_view raw) {
  auto result = parse_step(raw);
  if (auto* error = std::get_if<ParseError>(&result)) {
    ADD_FAILURE() << "unexpected parse error: " << error->message;
    return {};
  }
  return std::get<ParsedStep>(result);
}

std::string error(std::string_view raw) {
  auto result = parse_step(raw);
  if (std::holds_alternative<ParsedStep>(result)) {
    ADD_FAILURE() << "expected a parse error";
    return "";
  }
  return std::get<ParseError>(result).message;
}

TEST(Parser, CanonicalStep) {
  const ParsedStep step =
      parsed("Thought: I will add.\nCode:\n```py\nx = 1 + 1\nprint(x)\n```<end_action>");
  EXPECT_EQ(step.thought, "I will add.");
  EXPECT_EQ(step.code, "x = 1 + 1\nprint(x)");
}

TEST(Parser, ToleratesPythonTagMissingLabelsAndTrailingText) {
  const ParsedStep step = parsed("Let me look.\n```python\nprint(2)\n```\nThat should work.");
  EXPECT_EQ(step.thought, "Let me look.");
  EXPECT_EQ(step.code, "print(2)");
}

TEST(Parser, ToleratesAMissingClosingFenceAtTheEndMarker) {
  EXPECT_EQ(parsed("Thought: go\nCode:\n```py\nprint(3)\n<end_action>").code, "print(3)");
  // Generation stopped at the marker, so the marker itself is often absent.
  EXPECT_EQ(parsed("Thought: go\nCode:\n```py\nprint(4)\n").code, "print(4)");
}

TEST(Parser, IgnoresWhatTheModelWroteAfterTheEndMarker) {
  const ParsedStep step = parsed(
      "Thought: a\nCode:\n```py\nprint(1)\n```<end_action>\nObservation: 1\n```py\nprint(9)\n```");
  EXPECT_EQ(step.code, "print(1)");
}

TEST(Parser, TakesTheFirstBlockOnly) {
  EXPECT_EQ(parsed("```py\na = 1\n```\nand\n```py\nb = 2\n```").code, "a = 1");
}

TEST(Parser, NoCodeBlockGetsAPreciseMessage) {
  const std::string message = error("Thought: The answer is 42.");
  EXPECT_THAT(message, HasSubstr("no code block"));
  EXPECT_THAT(message, HasSubstr("```py"));
  EXPECT_THAT(message, HasSubstr("final_answer(answer="));
}

TEST(Parser, EmptyAndNonPythonBlocksAreRefused) {
  EXPECT_THAT(error("Code:\n```py\n\n```"), HasSubstr("empty"));
  EXPECT_THAT(error("Code:\n```json\n{\"a\": 1}\n```"), HasSubstr("marked as 'json'"));
  EXPECT_THAT(error("Code: ```"), HasSubstr("empty"));
}

TEST(Parser, RenderStepRoundTrips) {
  const ParsedStep step{"why", "print(1)"};
  const ParsedStep again = parsed(render_step(step));
  EXPECT_EQ(again.thought, step.thought);
  EXPECT_EQ(again.code, step.code);
}

}  // namespace
}  // namespace mat::agent

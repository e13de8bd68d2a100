#include "mat/agent/prompt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/temp_dir.h"

namespace mat::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Prompt, BuiltinTemplateRendersToolsImportsAndFormat) {
  const PromptTemplate prompt = PromptTemplate::builtin();
  EXPECT_EQ(prompt.version, "t3-v1");
  const std::string text =
      render_system_prompt(prompt, tools::builtin_registry(), {"numpy", "pandas"});
  EXPECT_THAT(text, HasSubstr("- final_answer: Gives the final answer"));
  EXPECT_THAT(text, HasSubstr("answer (any): The final answer"));
  EXPECT_THAT(text, HasSubstr("numpy, pandas"));
  EXPECT_THAT(text, HasSubstr("Thought:"));
  EXPECT_THAT(text, HasSubstr("```<end_action>"));
  EXPECT_THAT(text, Not(HasSubstr("{{")));
}

TEST(Prompt, UnknownVersionIsAnError) {
  EXPECT_THROW(PromptTemplate::builtin("t9"), core::Error);
}

TEST(Prompt, UserTemplateGetsAContentVersion) {
  core::TempDir dir;
  std::ofstream(dir.path() / "mine.txt") << "Tools:\n{{tools}}\nImports: {{authorized_imports}}\n";
  const PromptTemplate a = PromptTemplate::from_file(dir.path() / "mine.txt");
  EXPECT_EQ(a.version.rfind("file:mine.txt@", 0), 0u);
  std::ofstream(dir.path() / "mine.txt") << "Other tools:\n{{tools}}\n{{authorized_imports}}\n";
  EXPECT_NE(PromptTemplate::from_file(dir.path() / "mine.txt").version, a.version);
  EXPECT_THAT(render_system_prompt(a, tools::builtin_registry(), {"re"}),
              HasSubstr("Imports: re\n"));
}

TEST(Prompt, UserTemplateWithoutPlaceholdersIsRejected) {
  core::TempDir dir;
  std::ofstream(dir.path() / "bad.txt") << "no placeholders here";
  EXPECT_THROW(PromptTemplate::from_file(dir.path() / "bad.txt"), core::Error);
  EXPECT_THROW(PromptTemplate::from_file(dir.path() / "missing.txt"), core::Error);
}

}  // namespace
}  // namespace mat::agent

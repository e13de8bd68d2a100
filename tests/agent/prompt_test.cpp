#include "mat/agent/prompt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "mat/core/temp_dir.h"

namespace mat::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Prompt, BuiltinTemplateRendersToolsImportsAndFormat) {
  const PromptTemplate prompt = PromptTemplate::builtin();
  EXPECT_EQ(prompt.version, "t3-v2");
  const std::string text =
      render_system_prompt(prompt, tools::builtin_registry(), {"numpy", "pandas"});
  EXPECT_THAT(text, HasSubstr("- final_answer: Gives the final answer"));
  EXPECT_THAT(text, HasSubstr("answer (any): The final answer"));
  EXPECT_THAT(text, HasSubstr("numpy, pandas"));
  EXPECT_THAT(text, HasSubstr("Thought:"));
  EXPECT_THAT(text, HasSubstr("```<end_action>"));
  EXPECT_THAT(text, Not(HasSubstr("{{")));
}

// The agent hands the code the task's text as `task` (agent_run_test); every wording since t3-v1
// says so (t3-v1 stays as the first data was made with).
TEST(Prompt, EveryBuiltinTemplateNamesTheTaskVariable) {
  for (const char* version : {"t3-v2", "t3-tiny", "t3-micro"}) {
    EXPECT_THAT(PromptTemplate::builtin(version).text, HasSubstr("The string `task` holds the"))
        << version;
  }
}

// The worked examples teach the real tools: every call in them names a built-in tool and only
// arguments it takes.
TEST(Prompt, TheExamplesCallRealToolsWithTheirRealArguments) {
  const std::string text = PromptTemplate::builtin().text;
  const tools::ToolRegistry registry = tools::builtin_registry();
  const std::regex call(R"(\b([a-z_]+)\(((?:[a-z_]+=[^,()]+(?:, )?)+)\))");
  const std::regex argument(R"(([a-z_]+)=)");
  int calls = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), call); it != std::sregex_iterator();
       ++it) {
    const std::string name = (*it)[1];
    if (name == "final_answer") continue;
    const tools::Tool* tool = registry.find(name);
    ASSERT_NE(tool, nullptr) << name << " is not a built-in tool";
    const std::vector<std::string> inputs = tool->spec().input_names();
    const std::string arguments = (*it)[2];
    for (auto arg = std::sregex_iterator(arguments.begin(), arguments.end(), argument);
         arg != std::sregex_iterator(); ++arg) {
      EXPECT_THAT(inputs, ::testing::Contains((*arg)[1].str())) << name << " in " << it->str();
    }
    ++calls;
  }
  EXPECT_GE(calls, 3);  // ocr, facedetection, draw_box
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

// t3-tiny lists each tool as a Python signature with its description, without the per-input text:
// half the tokens, which a tiny controller pays in every training sample.
TEST(Prompt, ToolSignaturesListEachToolInOneLine) {
  const tools::ToolRegistry registry = tools::builtin_registry_of({"facedetection"});
  const std::string tiny =
      render_system_prompt(PromptTemplate::builtin("t3-tiny"), registry, {"re"});
  EXPECT_THAT(tiny, HasSubstr("- facedetection(image_path: image, enlarge: number = optional) -> "
                              "array: Finds human faces in an image."));
  EXPECT_THAT(tiny, HasSubstr("- final_answer(answer: any) -> any: Gives the final answer"));
  EXPECT_THAT(tiny, Not(HasSubstr("Takes inputs")));
  EXPECT_THAT(tiny, Not(HasSubstr("{{")));
  const std::string full = render_system_prompt(PromptTemplate::builtin(), registry, {"re"});
  EXPECT_THAT(full, HasSubstr("Takes inputs: image_path (image)"));
  EXPECT_LT(tiny.size() * 2, full.size());

  core::TempDir dir;
  std::ofstream(dir.path() / "mine.txt") << "{{tool_signatures}}\n{{authorized_imports}}\n";
  EXPECT_THAT(
      render_system_prompt(PromptTemplate::from_file(dir.path() / "mine.txt"), registry, {"re"}),
      HasSubstr("- facedetection(image_path: image"));
}

// t3-micro lists the signatures alone: a controller that learns its tools from trajectories reads
// a third of t3-tiny's tokens in every sample.
TEST(Prompt, ToolCallsListTheSignaturesAlone) {
  const tools::ToolRegistry registry = tools::builtin_registry_of({"facedetection"});
  const std::string micro =
      render_system_prompt(PromptTemplate::builtin("t3-micro"), registry, {"re"});
  EXPECT_THAT(micro, HasSubstr("\n- facedetection(image_path: image, enlarge: number = optional) "
                               "-> array\n- final_answer(answer: any) -> any\n"));
  EXPECT_THAT(micro, Not(HasSubstr("Finds human faces")));
  EXPECT_THAT(micro, Not(HasSubstr("{{")));
  EXPECT_THAT(micro, HasSubstr("Modules: re"));
  const std::string tiny =
      render_system_prompt(PromptTemplate::builtin("t3-tiny"), registry, {"re"});
  EXPECT_LT(micro.size() * 3, tiny.size() * 2);
}

TEST(Prompt, UserTemplateWithoutPlaceholdersIsRejected) {
  core::TempDir dir;
  std::ofstream(dir.path() / "bad.txt") << "no placeholders here";
  try {
    PromptTemplate::from_file(dir.path() / "bad.txt");
    ADD_FAILURE() << "expected core::Error";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("{{tools}}, {{tool_signatures}} or {{tool_calls}}"));
  }
  EXPECT_THROW(PromptTemplate::from_file(dir.path() / "missing.txt"), core::Error);
}

}  // namespace
}  // namespace mat::agent

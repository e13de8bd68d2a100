#include "mat/tools/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mat::tools {
namespace {

using ::testing::HasSubstr;

class EchoTool : public Tool {
 public:
  explicit EchoTool(ToolSpec spec) : spec_(std::move(spec)) {}
  const ToolSpec& spec() const override { return spec_; }
  core::Json call(const core::Json& args, const ToolContext&) const override { return args; }

 private:
  ToolSpec spec_;
};

ToolInput input(std::string name, ValueType type, bool optional = false,
                core::Json fallback = nullptr) {
  return {std::move(name), type, "an input", optional, std::move(fallback)};
}

ToolSpec crop_spec() {
  ToolSpec spec;
  spec.name = "crop";
  spec.description = "Crops an image.";
  spec.inputs = {input("image", ValueType::kImage), input("size", ValueType::kInteger),
                 input("scale", ValueType::kNumber, true, 1.0)};
  spec.output_type = ValueType::kImage;
  return spec;
}

ToolRegistry registry_with_crop() {
  ToolRegistry registry;
  registry.add(std::make_unique<EchoTool>(crop_spec()));
  return registry;
}

std::string error_of(const ToolRegistry& registry, const core::Json& args) {
  try {
    registry.call("crop", args, {});
  } catch (const ToolError& e) {
    return e.what();
  }
  return "";
}

TEST(ToolRegistry, FillsDefaultsAndAcceptsWholeFloatsAsIntegers) {
  const ToolRegistry registry = registry_with_crop();
  const core::Json result = registry.call("crop", {{"image", "a.png"}, {"size", 3.0}}, {});
  EXPECT_EQ(result["scale"], 1.0);
  EXPECT_EQ(result["size"], 3.0);
}

TEST(ToolRegistry, RejectsBadArgumentsWithActionableMessages) {
  const ToolRegistry registry = registry_with_crop();
  EXPECT_THAT(error_of(registry, {{"image", "a.png"}}),
              HasSubstr("missing the required argument 'size'"));
  EXPECT_THAT(error_of(registry, {{"image", "a.png"}, {"size", "big"}}),
              HasSubstr("'size' must be an integer, got str"));
  EXPECT_THAT(error_of(registry, {{"image", "a.png"}, {"size", 2.5}}),
              HasSubstr("must be an integer"));
  EXPECT_THAT(error_of(registry, {{"image", "a.png"}, {"size", 1}, {"zoom", 2}}),
              HasSubstr("unexpected argument 'zoom'"));
  EXPECT_THAT(error_of(registry, {{"image", 7}, {"size", 1}}),
              HasSubstr("Usage: crop(image: image"));
  EXPECT_THAT(error_of(registry, core::Json::array({1, 2})), HasSubstr("keyword arguments"));
}

TEST(ToolRegistry, UnknownToolListsTheAvailableOnes) {
  const ToolRegistry registry = registry_with_crop();
  try {
    registry.call("zoom", core::Json::object(), {});
    FAIL();
  } catch (const ToolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown tool 'zoom'"));
    EXPECT_THAT(e.what(), HasSubstr("crop"));
  }
}

TEST(ToolRegistry, InvalidSchemasFailAtRegistration) {
  ToolRegistry registry = registry_with_crop();
  EXPECT_THROW(registry.add(std::make_unique<EchoTool>(crop_spec())), core::Error);  // duplicate
  ToolSpec bad = crop_spec();
  bad.name = "2crop";
  EXPECT_THROW(registry.add(std::make_unique<EchoTool>(bad)), core::Error);
  bad = crop_spec();
  bad.name = "lambda";
  EXPECT_THROW(registry.add(std::make_unique<EchoTool>(bad)), core::Error);
  bad = crop_spec();
  bad.name = "other";
  bad.description.clear();
  EXPECT_THROW(registry.add(std::make_unique<EchoTool>(bad)), core::Error);
  bad = crop_spec();
  bad.name = "other";
  bad.inputs.push_back(input("late", ValueType::kString));  // required after optional
  EXPECT_THROW(registry.add(std::make_unique<EchoTool>(bad)), core::Error);
}

TEST(ToolRegistry, FinalAnswerIsBuiltInAndEndsTheRun) {
  const ToolRegistry registry = builtin_registry();
  const Tool* tool = registry.find("final_answer");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tool->spec().ends_run);
  EXPECT_EQ(registry.call("final_answer", {{"answer", 42}}, {}), 42);
  EXPECT_EQ(tool->spec().to_json()["inputs"][0]["name"], "answer");
}

// --tools: the named tools in the registry's order, final_answer always; a name that is no tool,
// or a tool that cannot work here, is said with what to do.
TEST(ToolRegistry, AnAllowListKeepsTheNamedToolsAndFinalAnswer) {
  const ToolRegistry registry = builtin_registry_of({"inspect_file_as_text", "ocr"});
  EXPECT_EQ(registry.names(),
            (std::vector<std::string>{"ocr", "inspect_file_as_text", "final_answer"}));
  EXPECT_EQ(builtin_registry_of({"ocr", "final_answer"}).names(),
            (std::vector<std::string>{"ocr", "final_answer"}));
  EXPECT_EQ(builtin_registry_of({}).names(), builtin_registry().names());
  try {
    builtin_registry_of({"ocr", "orc"});
    ADD_FAILURE() << "an unknown tool name was accepted";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no tool 'orc'"));
    EXPECT_THAT(e.what(), HasSubstr("facedetection"));
  }
  try {
    builtin_registry_of({"visualizer"});  // no vision-language model is configured here
    ADD_FAILURE() << "a tool that cannot work was accepted";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'visualizer' is not available on this machine"));
    EXPECT_THAT(e.what(), HasSubstr("MAT_TOOL_MODEL"));
  }
}

}  // namespace
}  // namespace mat::tools

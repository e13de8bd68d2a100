// The tools that ask a model or an endpoint (visualizer, objectlocation, inspect_file_as_text's
// questions, image_generator, image_edit), against the fake OpenAI-compatible server: what they
// send, what they make of the replies, and how they fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/core/base64.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/tools/registry.h"
#include "support/fake_openai_server.h"

namespace mat::tools {
namespace {

namespace fs = std::filesystem;
using testing::FakeOpenAIServer;
using ::testing::HasSubstr;
using testing::ScriptedReply;

std::string png_bytes(int width, int height) {
  std::vector<uchar> bytes;
  cv::imencode(".png", cv::Mat(height, width, CV_8UC3, cv::Scalar(40, 120, 200)), bytes);
  return {bytes.begin(), bytes.end()};
}

ScriptedReply raw(std::string body) {
  ScriptedReply reply;
  reply.raw_body = std::move(body);
  return reply;
}

class ModelTools : public ::testing::Test {
 protected:
  ModelTools() {
    llm::OpenAIConfig config;
    config.base_url = server_.base_url();
    config.model = "fake-model";
    config.stream = false;
    config.max_retries = 0;
    auto model = std::make_shared<llm::OpenAIChatModel>(config);
    llm::ImagesConfig images;
    images.base_url = server_.base_url();
    images.model = "fake-images";
    images.max_retries = 0;
    registry_ = builtin_registry({model, model, std::make_shared<llm::OpenAIImagesClient>(images)},
                                 &unavailable_);
  }

  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_.path() / name, std::ios::binary) << bytes;
  }
  core::Json call(const std::string& tool, const core::Json& args) {
    return registry_.call(tool, args, context_);
  }
  std::string error_of(const std::string& tool, const core::Json& args) {
    try {
      call(tool, args);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "";
  }
  core::Json last_user_content() const {
    return server_.requests().back()["messages"].back()["content"];
  }
  // The text parts and image parts of the last chat request's user message.
  std::string last_prompt_text() const {
    const core::Json content = last_user_content();
    std::string text;
    for (const core::Json& part : content) {
      if (part["type"] == "text") text += part["text"].get<std::string>();
    }
    return text;
  }
  int last_prompt_images() const {
    const core::Json content = last_user_content();
    int images = 0;
    for (const core::Json& part : content) {
      images += part["type"] == "image_url";
    }
    return images;
  }

  FakeOpenAIServer server_;
  std::vector<UnavailableTool> unavailable_;
  ToolRegistry registry_;
  core::TempDir dir_;
  ToolContext context_{dir_.path()};
};

TEST_F(ModelTools, AllAreAvailableWithAModelAndAnEndpoint) {
  for (const UnavailableTool& tool : unavailable_) {
    EXPECT_TRUE(tool.name != "visualizer" && tool.name != "objectlocation" &&
                tool.name != "image_generator" && tool.name != "image_edit")
        << tool.name << ": " << tool.reason;
  }
}

TEST(ModelToolsWithoutModels, AreLeftOutAndSayWhatToSet) {
  std::vector<UnavailableTool> unavailable;
  const ToolRegistry registry = builtin_registry({}, &unavailable);
  for (const char* name : {"visualizer", "objectlocation", "image_generator", "image_edit"}) {
    EXPECT_EQ(registry.find(name), nullptr) << name;
    const auto it = std::find_if(unavailable.begin(), unavailable.end(),
                                 [&](const UnavailableTool& t) { return t.name == name; });
    ASSERT_NE(it, unavailable.end()) << name;
    EXPECT_THAT(it->reason, HasSubstr(std::string(name).starts_with("image") ? "MAT_IMAGES_MODEL"
                                                                             : "MAT_TOOL_MODEL"));
  }
}

TEST_F(ModelTools, VisualizerSendsTheImageAndTheQuestionAndReturnsTheAnswer) {
  write("photo.png", png_bytes(64, 48));
  server_.enqueue(ScriptedReply::text("Three red apples on a plate."));
  EXPECT_EQ(call("visualizer", {{"question", "What fruit is this?"}, {"image_path", "photo.png"}}),
            "Three red apples on a plate.");
  EXPECT_EQ(last_prompt_images(), 1);
  EXPECT_EQ(last_prompt_text(), "What fruit is this?");
  EXPECT_EQ(server_.requests().back()["temperature"], 0.0);
}

TEST_F(ModelTools, VisualizerWithAnEmptyQuestionAsksForADescription) {
  write("photo.png", png_bytes(64, 48));
  server_.enqueue(ScriptedReply::text("A blue square."));
  call("visualizer", {{"question", ""}, {"image_path", "photo.png"}});
  EXPECT_THAT(last_prompt_text(), HasSubstr("Describe this image in detail"));
}

TEST_F(ModelTools, VisualizerPassesTheServersRefusalOnNamingItself) {
  write("photo.png", png_bytes(64, 48));
  server_.enqueue(ScriptedReply::error(400, "image input is not supported by this model"));
  const std::string error =
      error_of("visualizer", {{"question", "?"}, {"image_path", "photo.png"}});
  EXPECT_THAT(error, HasSubstr("visualizer(): its model did not answer"));
  EXPECT_THAT(error, HasSubstr("image input is not supported"));
}

TEST_F(ModelTools, VisualizerRefusesBadImagesBeforeAskingTheModel) {
  write("empty.png", "");
  write("corrupt.png", "\x89PNG\r\n\x1a\nnot really");
  EXPECT_THAT(error_of("visualizer", {{"question", "?"}, {"image_path", "missing.png"}}),
              HasSubstr("missing.png"));
  EXPECT_THAT(error_of("visualizer", {{"question", "?"}, {"image_path", "empty.png"}}),
              HasSubstr("empty"));
  EXPECT_THAT(error_of("visualizer", {{"question", "?"}, {"image_path", "corrupt.png"}}),
              HasSubstr("corrupt.png"));
  EXPECT_THAT(error_of("visualizer", {{"question", "?"}, {"image_path", "../outside.png"}}),
              HasSubstr("outside"));
  EXPECT_EQ(server_.request_count(), 0u);
}

// A model that does not answer before the step ends is cut off, and the error says so.
TEST_F(ModelTools, AModelRequestEndsWithTheStep) {
  write("photo.png", png_bytes(64, 48));
  ScriptedReply slow = ScriptedReply::text("late");
  slow.delay = std::chrono::milliseconds(3000);
  server_.enqueue(slow);
  context_.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  const std::string error =
      error_of("visualizer", {{"question", "?"}, {"image_path", "photo.png"}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2500));
  EXPECT_THAT(error, HasSubstr("visualizer(): its model did not answer"));
}

TEST_F(ModelTools, ObjectLocationMapsPixelBoxesOfTheShownCopyToTheOriginal) {
  write("wide.png", png_bytes(2560, 1280));  // shown to the model as 1280 x 640
  server_.enqueue(
      ScriptedReply::text("```json\n[{\"bbox_2d\": [100, 50, 300, 250], \"label\": \"car\"}, "
                          "{\"bbox_2d\": [640, 320, 1280, 640], \"label\": \"car\"}]\n```"));
  const core::Json boxes = call("objectlocation", {{"object", "car"}, {"image_path", "wide.png"}});
  EXPECT_EQ(boxes, core::Json::parse("[[200, 100, 600, 500], [1280, 640, 2560, 1280]]"));
  EXPECT_THAT(last_prompt_text(), HasSubstr("1280 x 640 pixels"));
  EXPECT_THAT(last_prompt_text(), HasSubstr("Find every car"));
}

TEST_F(ModelTools, ObjectLocationReadsQwen2VLGridBoxes) {
  write("photo.png", png_bytes(400, 200));
  server_.enqueue(ScriptedReply::text(
      "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(250,500),(750,1000)<|box_end|>"));
  EXPECT_EQ(call("objectlocation", {{"object", "dog"}, {"image_path", "photo.png"}}),
            core::Json::parse("[[100, 100, 300, 200]]"));
}

TEST_F(ModelTools, ObjectLocationSaysWhenTheReplyHoldsNoBoxes) {
  write("photo.png", png_bytes(400, 200));
  server_.enqueue(ScriptedReply::text("[]"));
  EXPECT_EQ(call("objectlocation", {{"object", "zebra"}, {"image_path", "photo.png"}}),
            core::Json::array());
  server_.enqueue(ScriptedReply::text("It is near the middle."));
  const std::string error =
      error_of("objectlocation", {{"object", "dog"}, {"image_path", "photo.png"}});
  EXPECT_THAT(error, HasSubstr("objectlocation(): no boxes could be read"));
  EXPECT_THAT(error, HasSubstr("near the middle"));
  EXPECT_THAT(error_of("objectlocation", {{"object", " "}, {"image_path", "photo.png"}}),
              HasSubstr("'object' is empty"));
}

TEST_F(ModelTools, InspectFileAnswersAQuestionFromTheDocumentsText) {
  write("notes.txt", "The meeting moved to Thursday, 14:30, room B12.\n");
  server_.enqueue(ScriptedReply::text("Thursday at 14:30 in room B12."));
  EXPECT_EQ(call("inspect_file_as_text",
                 {{"file_path", "notes.txt"}, {"question", "When is the meeting?"}}),
            "Thursday at 14:30 in room B12.");
  const std::string sent = server_.requests().back()["messages"].back()["content"].dump();
  EXPECT_THAT(sent, HasSubstr("room B12"));
  EXPECT_THAT(sent, HasSubstr("Question: When is the meeting?"));
  // Without a question the text itself comes back, and no model is asked.
  EXPECT_THAT(call("inspect_file_as_text", {{"file_path", "notes.txt"}}).get<std::string>(),
              HasSubstr("room B12"));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(ModelTools, ImageGeneratorSavesTheEndpointsImageAsANewFile) {
  const std::string png = png_bytes(32, 32);
  server_.enqueue(raw(core::Json{{"data", {{{"b64_json", core::base64_encode(png)}}}}}.dump()));
  const std::string path = call("image_generator", {{"prompt", "a lighthouse at dusk"}});
  EXPECT_EQ(path, "generated.png");
  std::ifstream saved(dir_.path() / path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(saved), {}), png);
  EXPECT_EQ(server_.paths().back(), "/v1/images/generations");
  EXPECT_EQ(server_.requests().back()["prompt"], "a lighthouse at dusk");
  EXPECT_EQ(server_.requests().back()["model"], "fake-images");
  // Nothing is overwritten: the next image gets a new name.
  server_.enqueue(raw(core::Json{{"data", {{{"b64_json", core::base64_encode(png)}}}}}.dump()));
  EXPECT_EQ(call("image_generator", {{"prompt", "again"}}), "generated_2.png");
}

TEST_F(ModelTools, ImageEditSendsTheImageAsAMultipartForm) {
  write("room.png", png_bytes(40, 30));
  const std::string edited = png_bytes(40, 30);
  server_.enqueue(raw(core::Json{{"data", {{{"b64_json", core::base64_encode(edited)}}}}}.dump()));
  EXPECT_EQ(call("image_edit", {{"prompt", "paint the walls green"}, {"image_path", "room.png"}}),
            "room_edited.png");
  EXPECT_EQ(server_.paths().back(), "/v1/images/edits");
  const core::Json form = server_.requests().back();
  EXPECT_EQ(form["prompt"], "paint the walls green");
  EXPECT_EQ(form["model"], "fake-images");
  EXPECT_EQ(form["image"]["filename"], "room.png");
  EXPECT_EQ(form["image"]["content_type"], "image/png");
  EXPECT_EQ(form["image"]["size"], png_bytes(40, 30).size());
}

TEST_F(ModelTools, ImageToolsRefuseRepliesThatAreNotImages) {
  server_.enqueue(raw(R"({"data": [{"b64_json": "bm90IGFuIGltYWdl"}]})"));  // "not an image"
  EXPECT_THAT(error_of("image_generator", {{"prompt", "x"}}), HasSubstr("not an image file"));
  server_.enqueue(raw(R"({"created": 0})"));
  EXPECT_THAT(error_of("image_generator", {{"prompt", "x"}}), HasSubstr("holds no image"));
  server_.enqueue(ScriptedReply::error(400, "Your prompt was rejected by the safety system"));
  EXPECT_THAT(error_of("image_generator", {{"prompt", "x"}}), HasSubstr("safety system"));
  EXPECT_THAT(error_of("image_generator", {{"prompt", "  "}}), HasSubstr("'prompt' is empty"));
  EXPECT_THAT(error_of("image_edit", {{"prompt", "x"}, {"image_path", "missing.png"}}),
              HasSubstr("missing.png"));
}

}  // namespace
}  // namespace mat::tools

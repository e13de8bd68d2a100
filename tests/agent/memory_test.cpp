#include "mat/agent/memory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "mat/core/temp_dir.h"

namespace mat::agent {
namespace {

using ::testing::HasSubstr;

Trajectory two_step_trajectory() {
  Trajectory t;
  t.id = "run-1";
  t.task = "Count the cats.";
  t.files = {{"cats.png", "image"}, {"notes.csv", "csv"}};
  t.prompt_version = "t3-v1";
  t.end_reason = end_reason::kFinalAnswer;
  Step ok;
  ok.index = 0;
  ok.raw = "Thought: look\nCode:\n```python\nprint(3)\n```";
  ok.thought = "look";
  ok.code = "print(3)";
  ok.observation = "3\n";
  ok.images = {"plot.png"};
  Step failed;
  failed.index = 1;
  failed.raw = "I think it is 3.";
  failed.error = "Your reply has no code block.";
  t.steps = {ok, failed};
  t.final_answer = "3";
  return t;
}

TEST(Memory, RendersTheDocumentedTurnStructure) {
  core::TempDir dir;
  const cv::Mat pixels(8, 8, CV_8UC3, cv::Scalar(0, 0, 255));
  // Images come from the run dir's host-only copies, never from the work dir.
  std::filesystem::create_directories(dir.path() / "shown" / "task");
  cv::imwrite((dir.path() / "shown" / "task" / "cats.png").string(), pixels);
  cv::imwrite((dir.path() / "plot.png").string(), pixels);
  core::ImageCache images(core::ImageLimits{.max_side = 64});

  const auto messages = render_messages("SYSTEM", two_step_trajectory(), dir.path(), images);
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages[0].role, llm::Role::kSystem);
  EXPECT_EQ(messages[1].role, llm::Role::kUser);
  EXPECT_THAT(messages[1].joined_text(), HasSubstr("Task: Count the cats."));
  EXPECT_THAT(messages[1].joined_text(), HasSubstr("- notes.csv"));
  EXPECT_THAT(messages[1].joined_text(), HasSubstr("in the list `attached_files`"));
  ASSERT_EQ(messages[1].parts.size(), 2u);  // text + the attached image (the csv is not an image)
  EXPECT_TRUE(messages[1].parts[1].is_image());
  // The assistant turn is the canonical form, whatever fence the model used.
  EXPECT_EQ(messages[2].joined_text(), "Thought: look\nCode:\n```py\nprint(3)\n```<end_action>");
  EXPECT_EQ(messages[3].joined_text(), "[OUTPUT OF STEP 0] Observation:\n3\n");
  ASSERT_EQ(messages[3].parts.size(), 2u);
  EXPECT_TRUE(messages[3].parts[1].is_image());
  // An unparseable reply is shown as written, followed by the error.
  EXPECT_EQ(messages[4].joined_text(), "I think it is 3.");
  EXPECT_THAT(messages[5].joined_text(),
              HasSubstr("[OUTPUT OF STEP 1] Error: Your reply has no code block."));
  // Rendering again reuses the encodings instead of encoding again.
  const auto again = render_messages("SYSTEM", two_step_trajectory(), dir.path(), images);
  EXPECT_EQ(again[1].parts[1].image, messages[1].parts[1].image);
  EXPECT_EQ(images.size(), 2u);
}

TEST(Memory, ErrorTurnKeepsOutputPrintedBeforeTheError) {
  Step step;
  step.index = 2;
  step.observation = "partial\n";
  step.error = "ZeroDivisionError: division by zero";
  const std::string text = observation_text(step);
  EXPECT_THAT(text, HasSubstr("[OUTPUT OF STEP 2] Error: ZeroDivisionError"));
  EXPECT_THAT(text, HasSubstr("partial"));
}

TEST(Trajectory, JsonRoundTripKeepsEveryField) {
  Trajectory t = two_step_trajectory();
  t.best_answer_request = BestAnswerRequest{"maybe 3", 10, 2, 5.5};
  t.model = {"openai", "qwen2-vl-7b", std::nullopt};
  const core::Json json = t.to_json();
  EXPECT_EQ(json["steps"][0]["images"][0], "plot.png");
  EXPECT_TRUE(json["steps"][1]["observation"].is_null());
  EXPECT_TRUE(json["model"]["adapter"].is_null());
  const Trajectory back = Trajectory::from_json(json);
  EXPECT_EQ(back.to_json(), json);
}

TEST(Trajectory, MalformedRecordsNameTheField) {
  core::Json json = two_step_trajectory().to_json();
  json.erase("end_reason");
  try {
    Trajectory::from_json(json);
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("end_reason"));
  }
  json = two_step_trajectory().to_json();
  json["steps"][0]["index"] = "zero";
  EXPECT_THROW(Trajectory::from_json(json), core::Error);
}

TEST(Trajectory, FileTypesAndAnswerText) {
  EXPECT_EQ(file_type_of("a/B.JPG"), "image");
  EXPECT_EQ(file_type_of("report.PDF"), "pdf");
  EXPECT_EQ(file_type_of("Makefile"), "file");
  EXPECT_EQ(answer_text("x"), "x");
  EXPECT_EQ(answer_text(42), "42");
  EXPECT_EQ(answer_text(core::Json::array({1, 2})), "[1,2]");
}

}  // namespace
}  // namespace mat::agent

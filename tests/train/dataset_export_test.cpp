// The exports for LLaMA-Factory and ms-swift, checked against their documented schemas: the same
// turns and targets as the samples, one "<image>" per image, the images copied beside.
#include "mat/train/dataset_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/error.h"
#include "mat/train/samples.h"
#include "train/train_data_fixture.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::HasSubstr;
using namespace testing;

std::size_t count_tags(const std::string& text) {
  std::size_t count = 0;
  for (std::size_t at = text.find("<image>"); at != std::string::npos;
       at = text.find("<image>", at + 1)) {
    ++count;
  }
  return count;
}

// What both formats share: messages of {role, content} strings, the roles in LLaMA-Factory's
// order (an optional system turn, then user and assistant alternating, the assistant last), one
// "<image>" per listed image, every image a file under `out`.
void expect_messages_and_images(const Json& sample, const fs::path& out) {
  ASSERT_TRUE(sample.is_object());
  ASSERT_TRUE(sample.contains("messages") && sample["messages"].is_array());
  ASSERT_TRUE(sample.contains("images") && sample["images"].is_array());
  const Json& messages = sample["messages"];
  ASSERT_GE(messages.size(), 2u);
  const std::size_t first = messages[0]["role"] == "system" ? 1 : 0;
  std::size_t tags = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ASSERT_TRUE(messages[i]["role"].is_string());
    ASSERT_TRUE(messages[i]["content"].is_string());
    if (i >= first) {
      EXPECT_EQ(messages[i]["role"], (i - first) % 2 == 0 ? "user" : "assistant");
    }
    tags += count_tags(messages[i]["content"].get<std::string>());
  }
  EXPECT_EQ(messages.back()["role"], "assistant");
  EXPECT_EQ(tags, sample["images"].size());
  for (const Json& image : sample["images"]) {
    ASSERT_TRUE(image.is_string());
    EXPECT_FALSE(fs::path(image.get<std::string>()).is_absolute());
    EXPECT_TRUE(fs::is_regular_file(out / image.get<std::string>())) << image;
  }
}

class Export : public ::testing::Test {
 protected:
  // The conversations of the data and their export in `format`.
  std::vector<Conversation> export_data(ExportFormat format) {
    std::vector<Conversation> conversations;
    DatasetWriter writer(format, out_.path(), "mat");
    for_each_conversation(data_, {}, nullptr, [&](const Conversation& c, Sample*) {
      conversations.push_back(c);
      writer.add(c);
    });
    files_ = writer.finish();
    return conversations;
  }

  void SetUp() override {
    agent::Trajectory run = chart_run();
    run.steps.front().images = {"shown/step-0/plot.png"};  // the plot the first step saved
    fs::create_directories(dir_.path() / "shown/step-0");
    fs::copy_file(golden_image(), dir_.path() / "shown/step-0/plot.png");
    data_ = dir_.write({run});
  }

  DataDir dir_;
  fs::path data_;
  core::TempDir out_{"train-export"};
  std::vector<fs::path> files_;
};

TEST_F(Export, LlamaFactoryShareGptWithImages) {
  const std::vector<Conversation> conversations = export_data(ExportFormat::kLlamaFactory);
  ASSERT_EQ(files_.size(), 2u);
  const Json samples = core::read_json_file(out_.path() / "mat.json");
  ASSERT_TRUE(samples.is_array());
  ASSERT_EQ(samples.size(), 1u);
  expect_messages_and_images(samples[0], out_.path());

  // Exactly the conversation's turns, each image where the model saw it.
  const Json& messages = samples[0]["messages"];
  const Conversation& c = conversations[0];
  ASSERT_EQ(messages.size(), c.turns.size());
  EXPECT_EQ(messages[0]["content"], c.turns[0].message.joined_text());
  EXPECT_EQ(messages[1]["content"], c.turns[1].message.joined_text() + "<image>");
  EXPECT_EQ(messages[3]["content"], c.turns[3].message.joined_text() + "<image>");
  EXPECT_EQ(messages[4]["content"], agent::assistant_text(chart_run().steps[1]));
  for (const Json& message : messages) EXPECT_FALSE(message.contains("loss"));
  // The bytes the model was shown (a small PNG is sent as it is).
  ASSERT_EQ(samples[0]["images"].size(), 2u);
  EXPECT_EQ(core::read_file(out_.path() / samples[0]["images"][0].get<std::string>()),
            core::read_file(golden_image()));

  // dataset_info.json: the entry LLaMA-Factory looks the data set up by.
  const Json info = core::read_json_file(out_.path() / "dataset_info.json");
  const Json& entry = info["mat"];
  EXPECT_TRUE(fs::is_regular_file(out_.path() / entry["file_name"].get<std::string>()));
  EXPECT_EQ(entry["formatting"], "sharegpt");
  EXPECT_EQ(entry["columns"], Json({{"messages", "messages"}, {"images", "images"}}));
  EXPECT_EQ(entry["tags"], Json({{"role_tag", "role"},
                                 {"content_tag", "content"},
                                 {"user_tag", "user"},
                                 {"assistant_tag", "assistant"},
                                 {"system_tag", "system"}}));
}

TEST_F(Export, SwiftMessagesWithTheLossOfEachAssistantTurn) {
  const std::vector<Conversation> conversations = export_data(ExportFormat::kSwift);
  ASSERT_EQ(files_.size(), 1u);
  EXPECT_EQ(files_[0], out_.path() / "mat.jsonl");
  std::ifstream in(files_[0]);
  std::string line;
  std::vector<Json> samples;
  while (std::getline(in, line)) samples.push_back(Json::parse(line));
  ASSERT_EQ(samples.size(), 1u);
  expect_messages_and_images(samples[0], out_.path());
  for (const Json& message : samples[0]["messages"]) {
    if (message["role"] == "assistant") {
      EXPECT_EQ(message["loss"], true);
    } else {
      EXPECT_FALSE(message.contains("loss"));
    }
  }
  EXPECT_EQ(samples[0]["messages"].size(), conversations[0].turns.size());
}

TEST_F(Export, AnAssistantTurnThatIsNotTrainedIsContextForSwiftAndRefusedForLlamaFactory) {
  std::vector<Conversation> conversations;
  for_each_conversation(data_, {}, nullptr,
                        [&](const Conversation& c, Sample*) { conversations.push_back(c); });
  conversations[0].turns[2].is_target = false;

  DatasetWriter swift(ExportFormat::kSwift, out_.path() / "swift");
  swift.add(conversations[0]);
  swift.finish();
  const Json sample = Json::parse(core::read_file(out_.path() / "swift/mat.jsonl"));
  EXPECT_EQ(sample["messages"][2]["loss"], false);
  EXPECT_EQ(sample["messages"][4]["loss"], true);

  DatasetWriter llamafactory(ExportFormat::kLlamaFactory, out_.path() / "lf");
  EXPECT_THROW(llamafactory.add(conversations[0]), core::Error);
}

TEST_F(Export, UnknownFormatsAndOddNamesAreRefused) {
  EXPECT_THROW(DatasetWriter(ExportFormat::kSwift, out_.path(), "../escape"), core::Error);
  EXPECT_EQ(parse_export_format("swift"), ExportFormat::kSwift);
  try {
    parse_export_format("axolotl");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("llamafactory"));
  }
}

}  // namespace
}  // namespace mat::train

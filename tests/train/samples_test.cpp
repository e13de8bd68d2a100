// Training samples from trajectory records and MAT conversations: the label mask is exactly the
// assistant turns, the tokens are the engine's prompt, and every record left out is counted.
#include "mat/train/samples.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/agent/prompt.h"
#include "mat/core/error.h"
#include "mat/engine/chat_format.h"
#include "mat/engine/image_processor.h"
#include "mat/engine/prompt_input.h"
#include "mat/sandbox/sandbox.h"
#include "mat/tools/final_answer.h"
#include "mat/tools/registry.h"
#include "train/train_data_fixture.h"

namespace mat::train {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace testing;

class Samples : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = new engine::Tokenizer(engine::Tokenizer::load(golden_model() / "tokenizer.json"));
    images_ = new engine::ImageProcessorConfig(
        engine::load_image_processor_config(golden_model() / "preprocessor_config.json"));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete images_;
  }

  std::vector<Sample> load(const std::filesystem::path& data, const DataOptions& options = {}) {
    return load_samples(data, options, encoder_, report_);
  }

  // The text of each run of target tokens.
  std::vector<std::string> target_texts(const Sample& sample) const {
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < sample.ids.size(); ++i) {
      if (!sample.is_target[i]) continue;
      std::size_t end = i;
      while (end < sample.ids.size() && sample.is_target[end]) ++end;
      texts.push_back(tokenizer_->decode(std::span(sample.ids).subspan(i, end - i)));
      i = end;
    }
    return texts;
  }

  std::string text(const Sample& sample) const { return tokenizer_->decode(sample.ids); }

  static std::string turn_end(const agent::Step& step) {
    return agent::assistant_text(step) + std::string(engine::kImEnd);
  }

  static engine::Tokenizer* tokenizer_;
  static engine::ImageProcessorConfig* images_;
  SampleEncoder encoder_{*tokenizer_, *images_};
  DataReport report_;
  DataDir dir_;
};

engine::Tokenizer* Samples::tokenizer_ = nullptr;
engine::ImageProcessorConfig* Samples::images_ = nullptr;

TEST_F(Samples, TargetsAreExactlyTheAssistantTurnsWithTheirEndToken) {
  const agent::Trajectory run = chart_run();
  const std::vector<Sample> samples = load(dir_.write({run}));
  ASSERT_EQ(samples.size(), 1u);
  const Sample& sample = samples[0];
  ASSERT_EQ(sample.is_target.size(), sample.ids.size());
  EXPECT_EQ(sample.id, "run-1");
  EXPECT_THAT(target_texts(sample), ElementsAre(turn_end(run.steps[0]), turn_end(run.steps[1])));

  // Everything else is context: the system prompt, the task, the observation.
  const std::string all = text(sample);
  EXPECT_THAT(all, HasSubstr("Task: What is the largest value in the chart?"));
  EXPECT_THAT(all, HasSubstr("[OUTPUT OF STEP 0] Observation:\n7"));
  // The final step's observation was never shown to the model: the sample ends with its reply.
  EXPECT_EQ(sample.ids.back(), tokenizer_->token_to_id(engine::kImEnd));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("[OUTPUT OF STEP 1]")));

  // One image, expanded to its pad run.
  ASSERT_EQ(sample.images.size(), 1u);
  const std::int32_t pad = *tokenizer_->token_to_id(engine::kImagePad);
  EXPECT_EQ(std::count(sample.ids.begin(), sample.ids.end(), pad),
            engine::image_token_count(sample.images[0], images_->merge_size));
}

TEST_F(Samples, TokensAreTheEnginesPromptOfTheAgentsMemory) {
  const agent::Trajectory run = chart_run();
  const std::vector<Sample> samples = load(dir_.write({run}));
  ASSERT_EQ(samples.size(), 1u);

  // What the agent would have sent for the next step, rendered by the engine as at inference.
  tools::ToolRegistry registry;
  registry.add(tools::make_final_answer_tool());
  const std::string system = agent::render_system_prompt(
      agent::PromptTemplate::builtin("t3-v2"), registry, sandbox::default_allowed_imports());
  core::ImageCache cache{core::ImageLimits{}};
  std::vector<llm::ChatMessage> messages = agent::render_messages(system, run, dir_.path(), cache);
  messages.pop_back();  // the last observation, after the last reply
  const engine::PromptInput prompt = engine::prepare_prompt(messages, *tokenizer_, *images_, false);

  // The same ids, but for the newline the template puts after the last <|im_end|>.
  ASSERT_EQ(prompt.ids.size(), samples[0].ids.size() + 1);
  EXPECT_TRUE(std::equal(samples[0].ids.begin(), samples[0].ids.end(), prompt.ids.begin()));
  EXPECT_EQ(samples[0].images[0].pixel_values, prompt.images[0].pixel_values);
}

TEST_F(Samples, WhatFollowsTheLastAssistantTurnChangesNothing) {
  agent::Trajectory a = chart_run("same");
  agent::Trajectory b = chart_run("same");
  b.steps.back().observation = "something else entirely";
  b.final_answer = "seven";
  b.steps.push_back(step(2, "", "", ""));  // a reply the API broke off: never a target
  b.steps.back().raw = "I think";
  b.steps.back().finish_reason = "error";
  b.steps.back().error = "the model's reply failed part-way: connection reset";
  const std::vector<Sample> samples = load(dir_.write({a, b}));
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].ids, samples[1].ids);
  EXPECT_EQ(samples[0].is_target, samples[1].is_target);
}

TEST_F(Samples, ErrorStepsAreKeptUnlessDropped) {
  agent::Trajectory run = chart_run();
  run.steps.insert(run.steps.begin(),
                   error_step(0, "print(1/0)", "ZeroDivisionError: division by zero"));
  run.steps[1].index = 1;
  run.steps[2].index = 2;
  const auto data = dir_.write({run});

  const std::vector<Sample> kept = load(data);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(target_texts(kept[0]).size(), 3u);
  EXPECT_THAT(text(kept[0]), HasSubstr("[OUTPUT OF STEP 0] Error: ZeroDivisionError"));
  EXPECT_EQ(report_.dropped_error_steps, 0);

  DataOptions options;
  options.conversation.drop_error_steps = true;
  const std::vector<Sample> dropped = load(data, options);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_THAT(target_texts(dropped[0]),
              ElementsAre(turn_end(run.steps[1]), turn_end(run.steps[2])));
  EXPECT_THAT(text(dropped[0]), ::testing::Not(HasSubstr("ZeroDivisionError")));
  // The steps that remain are numbered as one clean run.
  EXPECT_THAT(text(dropped[0]), HasSubstr("[OUTPUT OF STEP 0] Observation:\n7"));
  EXPECT_EQ(report_.dropped_error_steps, 1);
}

TEST_F(Samples, RepliesTheApiBrokeOffAreAlwaysLeftOut) {
  agent::Trajectory run = chart_run();
  run.steps.pop_back();
  agent::Step broken;
  broken.index = 1;
  broken.raw = "Thought: the answer is";
  broken.finish_reason = "error";
  broken.error = "the model's reply failed part-way: HTTP 502";
  run.steps.push_back(broken);
  run.end_reason = agent::end_reason::kModelError;
  const std::vector<Sample> samples = load(dir_.write({run}));
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_THAT(target_texts(samples[0]), ElementsAre(turn_end(run.steps[0])));
  EXPECT_THAT(text(samples[0]), ::testing::Not(HasSubstr("the answer is")));
  EXPECT_EQ(report_.dropped_failed_replies, 1);
}

TEST_F(Samples, LongSamplesAreSkippedOrTruncatedAndCounted) {
  const auto data = dir_.write({chart_run()});
  const std::size_t length = load(data).at(0).ids.size();

  DataOptions options;
  options.max_len = static_cast<std::int64_t>(length) - 1;
  EXPECT_TRUE(load(data, options).empty());
  EXPECT_EQ(report_.skipped_too_long, 1);
  EXPECT_THAT(report_.summary(options.max_len), HasSubstr("1 skipped as longer than"));

  options.truncate = true;
  const std::vector<Sample> cut = load(data, options);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(report_.truncated, 1);
  EXPECT_LE(cut[0].ids.size(), length - 1);
  EXPECT_EQ(cut[0].ids.size(), cut[0].is_target.size());
  EXPECT_THAT(target_texts(cut[0]), ElementsAre(turn_end(chart_run().steps[0])));
  EXPECT_EQ(cut[0].ids.back(), tokenizer_->token_to_id(engine::kImEnd));
  EXPECT_EQ(cut[0].images.size(), 1u);

  options.max_len = 10;  // not even the first reply fits
  EXPECT_TRUE(load(data, options).empty());
  EXPECT_EQ(report_.skipped_too_long, 1);
}

TEST_F(Samples, ACorruptLineIsReportedWithItsLineNumber) {
  const auto data = dir_.write({chart_run("a").to_json().dump(), "{\"id\": \"b\", \"task\": ",
                                chart_run("c").to_json().dump(), "{\"id\": \"d\"}"});
  try {
    load(data);
    FAIL() << "a corrupt line must not pass silently";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("data.jsonl:2"));
  }

  DataOptions options;
  options.skip_bad_records = true;
  const std::vector<Sample> samples = load(data, options);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].id, "c");
  ASSERT_EQ(report_.skipped_bad.size(), 2u);
  EXPECT_THAT(report_.skipped_bad[0].origin, ::testing::EndsWith("data.jsonl:2"));
  EXPECT_THAT(report_.skipped_bad[1].origin, ::testing::EndsWith("data.jsonl:4"));
  EXPECT_EQ(report_.records, 4);
  EXPECT_THAT(report_.summary(0), HasSubstr("2 bad record(s) skipped"));
  EXPECT_THAT(report_.summary(0), HasSubstr("data.jsonl:4"));
}

TEST_F(Samples, AMissingImageNamesTheSampleAndThePath) {
  const auto data = dir_.write({chart_run("no-image")});
  std::filesystem::remove(dir_.path() / "shown/task/chart.png");
  try {
    load(data);
    FAIL() << "a missing image must be an error";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no-image"));
    EXPECT_THAT(e.what(), HasSubstr("shown/task/chart.png"));
  }
}

TEST_F(Samples, MatConversationsAreRead) {
  std::filesystem::copy_file(golden_image(), dir_.path() / "cat.png");
  const core::Json entries = core::Json::parse(R"([
    {"id": "mat-1", "image": {"<image_00>": "cat.png"}, "system-prompt": "You solve tasks.",
     "conversations": [
       {"role": "user", "content": "<image_00>\nTask: how many cats?"},
       {"role": "assistant", "content": "Thought: count.\nCode:\n```py\nprint(1)\n```<end_action>"},
       {"role": "user", "content": "[OUTPUT OF STEP 0] Observation:\n1"},
       {"role": "assistant", "content": "Thought: done.\nCode:\n```py\nfinal_answer(1)\n```"},
       {"role": "user", "content": "[OUTPUT OF STEP 1] Observation:\n1"}]},
    {"id": "sharegpt", "images": ["cat.png"],
     "conversations": [{"from": "human", "value": "<image>What is it?"},
                       {"from": "gpt", "value": "A cat."}]}
  ])");
  std::ofstream(dir_.path() / "mat.json") << entries.dump();
  const std::vector<Sample> samples = load(dir_.path() / "mat.json");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].id, "mat-1");
  EXPECT_THAT(target_texts(samples[0]),
              ElementsAre("Thought: count.\nCode:\n```py\nprint(1)\n```<end_action><|im_end|>",
                          "Thought: done.\nCode:\n```py\nfinal_answer(1)\n```<|im_end|>"));
  const std::string all = text(samples[0]);
  EXPECT_THAT(all, HasSubstr("<|im_start|>system\nYou solve tasks.<|im_end|>"));
  // The image stands where its placeholder stood.
  EXPECT_THAT(all, HasSubstr("<|im_start|>user\n<|vision_start|><|image_pad|>"));
  EXPECT_THAT(all, HasSubstr("<|vision_end|>\nTask: how many cats?"));
  EXPECT_EQ(samples[0].images.size(), 1u);

  EXPECT_THAT(target_texts(samples[1]), ElementsAre("A cat.<|im_end|>"));
  EXPECT_EQ(samples[1].images.size(), 1u);
}

TEST_F(Samples, BadMatEntriesSayWhatIsWrong) {
  const auto check = [&](const std::string& entry, const std::string& message) {
    const auto data = dir_.write({entry}, "bad.jsonl");
    try {
      load(data);
      ADD_FAILURE() << entry;
    } catch (const core::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
      EXPECT_THAT(e.what(), HasSubstr("bad.jsonl:1"));
    }
  };
  check(R"({"conversations": [{"role": "user", "content": "hi"}]})", "no assistant turn");
  check(R"({"conversations": [{"role": "assistant", "content": "hi"}]})", "where a user turn");
  check(R"({"conversations": [{"role": "robot", "content": "hi"}]})", "unknown role 'robot'");
  const std::string turns = R"([{"role": "user", "content": "hi"}, {"role": "assistant"}])";
  check(R"({"images": ["a.png"], "conversations": [{"role": "user", "content": "hi"}, )"
        R"({"role": "assistant", "content": "x"}]})",
        "1 image(s) for <image> but its text places 0");
  check(R"({"conversations": [{"role": "user", "content": "<image> hi"}, )"
        R"({"role": "assistant", "content": "x"}]})",
        "more <image> placeholders");
  check(R"({"conversations": )" + turns + "}", "conversations[1] has no 'content' or 'value'");
  check(R"({"task": "no steps"})", "neither a trajectory record");
}

TEST_F(Samples, AFolderOfRunsIsReadRunByRun) {
  for (const std::string id : {"b", "a"}) {
    const std::filesystem::path run = dir_.path() / "runs" / id;
    std::filesystem::create_directories(run / "shown/task");
    std::filesystem::copy_file(golden_image(), run / "shown/task/chart.png");
    core::write_json_file(run / "trajectory.json", chart_run(id).to_json());
    // A record the model's code planted in its work dir is not training data.
    std::filesystem::create_directories(run / "work/x");
    core::write_json_file(run / "work/x/trajectory.json", chart_run("planted").to_json());
  }
  const std::vector<Sample> samples = load(dir_.path() / "runs");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].id, "a");
  EXPECT_EQ(samples[1].id, "b");
}

}  // namespace
}  // namespace mat::train

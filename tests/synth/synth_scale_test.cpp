// The parts of `mat synth` at scale, one by one: fixed task ids and "lower id wins" de-duplication
// whatever order batches arrive in, cost per call, replay keys, merging shard stores, the call
// limiter's budget, prices, --shard parsing, the progress numbers and the card's charts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/synth/card.h"
#include "mat/synth/limits.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/progress.h"
#include "mat/synth/replay.h"
#include "mat/synth/store.h"
#include "mat/synth/teacher.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::HasSubstr;

BatchOutcome done_batch(std::int64_t id) {
  BatchOutcome batch;
  batch.id = id;
  batch.status = status::kDone;
  return batch;
}

TEST(ScaleStore, TheLowerIdWinsWhateverOrderBatchesArriveIn) {
  core::TempDir dir("synth-scale");
  Store store(dir.path());
  // Batch 2 finishes first; batch 1 then brings the same query at a lower id.
  EXPECT_EQ(store.add_batch(done_batch(2), {{"Shared question", {}, {}}, {"Two b", {}, {}}}, 2),
            (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(store.add_batch(done_batch(1), {{"shared QUESTION!", {}, {}}, {"One b", {}, {}}}, 2),
            (std::vector<std::int64_t>{1, 2}));
  std::vector<std::int64_t> live;
  for (const TaskRow& row : store.tasks(10)) live.push_back(row.id);
  EXPECT_EQ(live, (std::vector<std::int64_t>{1, 2, 4}));  // 3 repeats 1
  EXPECT_EQ(store.counts().duplicates, 1);
  EXPECT_EQ(store.live_tasks_in_batches(1, 2).size(), 1u);
  // A later batch repeating a live task is not even stored.
  EXPECT_TRUE(store.add_batch(done_batch(3), {{"One b", {}, {}}}, 2).empty());
}

TEST(ScaleStore, CallsArePricedAndFoundAgainByTheirRequest) {
  core::TempDir dir("synth-scale");
  Store store(dir.path());
  store.set_price({2.0, 10.0});
  CallRecord call;
  call.stage = "verify_files";
  call.task = 1;
  call.reply = "{\"verdict\": \"yes\"}";
  call.tokens_in = 1'000'000;
  call.tokens_out = 500'000;
  call.request_key = "abc";
  store.log_call(call);
  call.stage = "queries";
  call.tokens_in = 0;
  call.tokens_out = 100'000;
  call.request_key = "def";
  store.log_call(call);
  EXPECT_DOUBLE_EQ(store.cost_usd(), 2.0 + 5.0 + 1.0);
  const StoreCounts counts = store.counts();
  EXPECT_DOUBLE_EQ(counts.usage.at("verify_files").cost_usd, 7.0);
  EXPECT_EQ(counts.usage.at("queries").tokens_out, 100'000);
  ASSERT_TRUE(store.recorded_reply("abc"));
  EXPECT_EQ(store.recorded_reply("abc")->tokens_in, 1'000'000);
  EXPECT_FALSE(store.recorded_reply("nothing"));
}

TEST(ScaleStore, RequestKeysDependOnStageSeedAndText) {
  const std::vector<llm::ChatMessage> messages{llm::ChatMessage::text(llm::Role::kUser, "hi")};
  llm::GenerationParams seeded;
  seeded.seed = 3;
  const std::string key = request_key("queries", messages, seeded);
  EXPECT_EQ(key.size(), 16u);
  EXPECT_EQ(key, request_key("queries", messages, seeded));
  EXPECT_NE(key, request_key("verify_files", messages, seeded));
  EXPECT_NE(key, request_key("queries", messages, {}));
  EXPECT_NE(key, request_key("queries", {llm::ChatMessage::text(llm::Role::kUser, "ho")}, seeded));
}

TEST(ScaleStore, ReplayAnswersRecordedRequestsAndRefusesNewOnes) {
  core::TempDir dir("synth-scale");
  Store store(dir.path());
  const std::vector<llm::ChatMessage> messages{llm::ChatMessage::text(llm::Role::kUser, "q?")};
  CallRecord call;
  call.stage = "queries";
  call.reply = "recorded";
  call.tokens_in = 5;
  call.request_key = request_key("queries", messages, {});
  store.log_call(call);
  const auto model = replay_model(store, "queries", "teacher");
  EXPECT_EQ(model->chat(messages, {}).text, "recorded");
  EXPECT_EQ(model->chat(messages, {}).usage.prompt_tokens, 5);
  try {
    model->chat({llm::ChatMessage::text(llm::Role::kUser, "new")}, {});
    FAIL() << "a request never recorded was answered";
  } catch (const llm::ModelError& error) {
    EXPECT_FALSE(error.retryable());
    EXPECT_THAT(error.what(), HasSubstr("holds no reply"));
  }
}

TEST(ScaleStore, MergeAddsWhatTheShardHoldsOnceOnly) {
  core::TempDir dir("synth-scale");
  fs::create_directories(dir.path() / "shard");
  fs::create_directories(dir.path() / "run");
  {
    Store shard(dir.path() / "shard");
    shard.add_batch(done_batch(2), {{"From the shard", {}, {}}}, 1);
    shard.put_result(2, "verify_files",
                     {status::kAccepted, Json{{"verdict", "yes"}}, "", "v", 1, 1});
    CallRecord call;
    call.stage = "verify_files";
    call.reply = "yes";
    shard.log_call(call);
  }
  Store run(dir.path() / "run");
  run.add_batch(done_batch(1), {{"From the run", {}, {}}}, 1);
  run.merge_from(dir.path() / "shard");
  EXPECT_EQ(run.task_count(), 2);
  EXPECT_EQ(run.batch_ids(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(run.result(2, "verify_files")->status, status::kAccepted);
  EXPECT_EQ(run.counts().calls, 1);
  EXPECT_THROW(run.merge_from(dir.path() / "shard"), core::Error);  // calls would count twice
  EXPECT_THROW(run.merge_from(dir.path() / "run"), core::Error);
  EXPECT_THROW(run.merge_from(dir.path() / "nothing"), core::Error);
}

TEST(ScaleLimits, TheBudgetRefusesCallsOnceSpent) {
  Limits limits;
  limits.budget_usd = 1.0;
  limits.price = {1.0, 0.0};
  CallLimiter limiter(limits, 0.5);
  limiter.before("queries", 10);
  EXPECT_EQ(limiter.live().at("queries").in_flight, 1);
  const llm::Usage usage{600'000, 0};
  limiter.after("queries", 10, &usage);
  EXPECT_EQ(limiter.live().at("queries").in_flight, 0);
  EXPECT_DOUBLE_EQ(limiter.spent_usd(), 1.1);
  EXPECT_FALSE(limiter.budget_reached());
  EXPECT_THROW(limiter.before("queries", 10), BudgetReached);
  EXPECT_TRUE(limiter.budget_reached());
  EXPECT_EQ(limiter.live().at("queries").calls, 1);  // the refused call never went out
}

TEST(ScaleLimits, EstimatesAndPrices) {
  llm::GenerationParams params;
  params.max_tokens = 100;
  EXPECT_EQ(
      estimated_tokens({llm::ChatMessage::text(llm::Role::kUser, std::string(400, 'x'))}, params),
      201);
  const Json prices = {{"gpt-x", {{"input_per_mtok", 2.5}, {"output_per_mtok", 10}}}};
  EXPECT_DOUBLE_EQ(price_of(prices, "gpt-x").output_per_mtok, 10);
  EXPECT_DOUBLE_EQ(price_of(prices, "other").input_per_mtok, 0);
  EXPECT_THROW(price_of({{"gpt-x", {{"input_per_mtok", "cheap"}}}}, "gpt-x"), core::Error);
  EXPECT_THROW(price_of(Json::array(), "gpt-x"), core::Error);
  // Within the bucket's burst nothing waits (a bucket that blocked here would hang the test).
  TokenBucket bucket(60);
  for (int i = 0; i < 10; ++i) bucket.take(1);
}

TEST(ScaleShard, ParsesIOfN) {
  const Shard shard = parse_shard("2/3");
  EXPECT_EQ(shard.index, 1);
  EXPECT_EQ(shard.count, 3);
  EXPECT_TRUE(shard.has(2));
  EXPECT_TRUE(shard.has(5));
  EXPECT_FALSE(shard.has(3));
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "/2", "1/"}) {
    EXPECT_THROW(parse_shard(bad), core::Error) << bad;
  }
}

TEST(ScaleCard, BarChartsAreSvgWithEveryBar) {
  const std::string svg = bar_chart_svg("Tools <by> use", {{"ocr", 3}, {"search", 1.5}});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("Tools &lt;by&gt; use"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n'), 1 + 1 + 2 * 3 + 1);
  EXPECT_THAT(svg, HasSubstr(">ocr</text>"));
  EXPECT_THAT(svg, HasSubstr(">1.5</text>"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
}

}  // namespace
}  // namespace mat::synth

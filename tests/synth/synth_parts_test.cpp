// The pieces of `mat synth` that need no teacher: reply parsing, shapes, seeds, the store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/core/temp_dir.h"
#include "mat/synth/prompts.h"
#include "mat/synth/queries.h"
#include "mat/synth/store.h"
#include "mat/synth/teacher.h"

namespace mat::synth {
namespace {

using core::Json;
using ::testing::HasSubstr;

TEST(ExtractJson, TakesABareValueOrAFencedOne) {
  EXPECT_EQ(extract_json(" {\"a\": 1} \n").value, Json({{"a", 1}}));
  EXPECT_EQ(extract_json("Here it is:\n```json\n{\"a\": 2}\n```\nDone.").value, Json({{"a", 2}}));
  EXPECT_EQ(extract_json("```\n[1, 2]\n```").value, Json({1, 2}));
  // A bare value may hold a fence in a string.
  EXPECT_EQ(extract_json(R"({"q": "Explain ```py blocks"})").value,
            Json({{"q", "Explain ```py blocks"}}));
}

TEST(ExtractJson, RefusesWhatIsNotOneJsonValue) {
  EXPECT_THAT(extract_json("Sure! Here are queries.").error, HasSubstr("not valid JSON"));
  EXPECT_THAT(extract_json("```json\n{\"a\": 1}").error, HasSubstr("never closes"));
  EXPECT_THAT(extract_json("```json\n{}\n```\n```json\n{}\n```").error, HasSubstr("more than one"));
  EXPECT_THAT(extract_json("```py\nprint(1)\n```").error, HasSubstr("not ```json"));
  EXPECT_THAT(extract_json("   ").error, HasSubstr("no JSON"));
  EXPECT_FALSE(extract_json("{\"a\": 1} {\"b\": 2}").value);
}

TEST(Shapes, QueriesReplyIsChecked) {
  EXPECT_FALSE(check_queries(Json::parse(
      R"({"queries": [{"query": "Count the cats", "tools": ["object_location"], "files": ["image"]}]})")));
  EXPECT_THAT(*check_queries(Json::parse(R"({"queries": []})")), HasSubstr("empty"));
  EXPECT_THAT(*check_queries(
                  Json::parse(R"({"queries": [{"query": "x", "tools": [], "files": ["mp4"]}]})")),
              HasSubstr("\"mp4\""));
  EXPECT_THAT(
      *check_queries(Json::parse(R"({"queries": [{"query": 3, "tools": [], "files": []}]})")),
      HasSubstr("queries[0].query"));
  EXPECT_THAT(*check_queries(Json::parse(R"({"queries": [{"query": "x", "files": []}]})")),
              HasSubstr("queries[0].tools"));
}

TEST(Shapes, VerdictReplyIsChecked) {
  EXPECT_FALSE(check_verdict(Json::parse(R"({"verdict": "yes", "reason": "fine"})"), false));
  EXPECT_FALSE(check_verdict(
      Json::parse(R"({"verdict": "no", "reason": "r", "updated_query": null})"), true));
  EXPECT_THAT(*check_verdict(Json::parse(R"({"verdict": "maybe", "reason": "r"})"), false),
              HasSubstr("verdict"));
  EXPECT_THAT(*check_verdict(Json::parse(R"({"verdict": "no"})"), false), HasSubstr("reason"));
  EXPECT_THAT(
      *check_verdict(Json::parse(R"({"verdict": "no", "reason": "r", "updated_query": 4})"), true),
      HasSubstr("updated_query"));
}

TEST(Seeds, TheShippedSetParsesAndDrawsDeterministically) {
  const auto seeds = parse_seeds(builtin_seeds("seeds-v1"));
  ASSERT_GE(seeds.size(), 8u);
  const auto a = draw_examples(seeds, 7, 3, 4);
  const auto b = draw_examples(seeds, 7, 3, 4);
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].query, b[i].query);
  const auto other = draw_examples(seeds, 7, 4, 4);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs = differs || a[i].query != other[i].query;
  EXPECT_TRUE(differs);
}

TEST(Prompts, AreVersionedAndFilled) {
  const StagePrompt prompt = builtin_prompt("queries-v1");
  EXPECT_EQ(prompt.version, "queries-v1");
  const std::string text = queries_prompt(prompt.text, {{"Q1?", {"ocr"}, {"image"}}}, {"ocr"}, 5);
  EXPECT_THAT(text, HasSubstr("Write 5 new user queries"));
  EXPECT_THAT(text, HasSubstr("Q1?"));
  EXPECT_EQ(text.find("{{"), std::string::npos);
  EXPECT_THROW(builtin_prompt("queries-v999"), core::Error);
}

TEST(Store, DropsNearDuplicatesAndFixesIdsByPlace) {
  EXPECT_EQ(normalised_text("  How MANY cats?!  "), "how many cats");
  core::TempDir dir("synth-store");
  Store store(dir.path());
  BatchOutcome batch;
  batch.id = 1;
  batch.status = status::kDone;
  const auto added = store.add_batch(batch,
                                     {{"How many cats?", {}, {}},
                                      {"how many  CATS", {}, {}},
                                      {"Name the dog.", {}, {}},
                                      {"Beyond the batch size", {}, {}}},
                                     3);
  // Ids by place: batch 1 holds ids 1..3; the repeat (id 2) and the fourth query are left out.
  EXPECT_EQ(added, (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(store.task_count(), 2);
  EXPECT_EQ(store.batch_ids(), std::vector<std::int64_t>{1});
  // The same batch recorded again (by another worker or process) adds nothing.
  EXPECT_TRUE(store.add_batch(batch, {{"Something new", {}, {}}}, 3).empty());

  store.put_result(added[0], "verify_files", {status::kRejected, Json(), "off topic", "v1", 3, 4});
  store.put_result(added[0], "verify_files", {status::kAccepted, Json(), "", "v1", 3, 4});
  EXPECT_EQ(store.result(added[0], "verify_files")->status, status::kRejected);  // first wins
  const StoreCounts counts = Store(dir.path()).counts();  // a second connection sees it
  EXPECT_EQ(counts.tasks, 2);
  EXPECT_EQ(counts.batches.at("done"), 1);
  EXPECT_EQ(counts.stages.at("verify_files").at("rejected"), 1);
  EXPECT_EQ(store.top_reasons("verify_files", 3).at(0).first, "off topic");
}

}  // namespace
}  // namespace mat::synth

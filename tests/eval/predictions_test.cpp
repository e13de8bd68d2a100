// Reading predictions: JSONL lines and folders of trajectory records, with every bad line named.
#include "mat/eval/predictions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/agent/trajectory.h"
#include "mat/core/json.h"
#include "mat/core/temp_dir.h"

namespace mat::eval {
namespace {

using ::testing::HasSubstr;

std::filesystem::path write(const core::TempDir& dir, const std::string& name,
                            const std::string& text) {
  const std::filesystem::path path = dir.path() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path;
}

void write_record(const std::filesystem::path& path, const std::string& id,
                  std::optional<std::string> answer, const core::Json& source) {
  agent::Trajectory record;
  record.id = id;
  record.task = "a question";
  record.prompt_version = "t3-v2";
  record.end_reason = answer ? agent::end_reason::kFinalAnswer : agent::end_reason::kMaxSteps;
  record.final_answer = std::move(answer);
  record.source = source;
  std::filesystem::create_directories(path.parent_path());
  core::write_json_file(path, record.to_json());
}

TEST(Predictions, JsonlLinesWithStringOrIntegerIdsAndAnyAnswer) {
  core::TempDir dir;
  const auto file = write(dir, "p.jsonl",
                          "{\"id\": \"0\", \"answer\": \"four\"}\n"
                          "\n"
                          "{\"id\": 12, \"answer\": 42}\n"
                          "{\"id\": \"x\", \"answer\": null}\n");
  const Predictions p = load_predictions(file, "gta");
  EXPECT_TRUE(p.problems.empty());
  ASSERT_EQ(p.by_id.size(), 3u);
  EXPECT_EQ(p.by_id.at("0").answer, "four");
  EXPECT_EQ(p.by_id.at("12").answer, "42");
  EXPECT_EQ(p.by_id.at("x").answer, std::nullopt);
  EXPECT_EQ(p.by_id.at("12").origin, file.string() + ":3");
}

TEST(Predictions, EveryBadLineIsReportedWithItsIdOrLine) {
  core::TempDir dir;
  const auto file = write(dir, "p.jsonl",
                          "{\"id\": \"0\", \"answer\": \"a\"}\n"
                          "not json\n"
                          "{\"answer\": \"b\"}\n"
                          "{\"id\": \"5\"}\n"
                          "{\"id\": \"0\", \"answer\": \"again\"}\n");
  const Predictions p = load_predictions(file, "gta");
  ASSERT_EQ(p.problems.size(), 4u);
  EXPECT_EQ(p.problems[0].entry, file.string() + ":2");
  EXPECT_EQ(p.problems[1].entry, file.string() + ":3");
  EXPECT_THAT(p.problems[1].message, HasSubstr("no \"id\""));
  EXPECT_EQ(p.problems[2].entry, "5");
  EXPECT_THAT(p.problems[2].message, HasSubstr("no \"answer\""));
  EXPECT_EQ(p.problems[3].entry, "0");
  EXPECT_THAT(p.problems[3].message, HasSubstr("predicted twice"));
  EXPECT_EQ(p.by_id.at("0").answer, "a");  // the first one stands
}

TEST(Predictions, AnEmptyFileIsAProblem) {
  core::TempDir dir;
  const Predictions p = load_predictions(write(dir, "p.jsonl", "\n"), "gaia");
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_THAT(p.problems[0].message, HasSubstr("no lines"));
}

TEST(Predictions, TrajectoryRecordsBySourceIdElseTheirOwnId) {
  core::TempDir dir;
  write_record(dir.path() / "runs/a/trajectory.json", "run-1", "four",
               {{"benchmark", "gta"}, {"id", "0"}});
  write_record(dir.path() / "runs/b/trajectory.json", "7", std::nullopt, core::Json::object());
  write_record(dir.path() / "runs/c/trajectory.json", "run-3", "x",
               {{"benchmark", "gaia"}, {"id", "abc"}});
  write(dir, "runs/d/trajectory.json", "{\"id\": \"half a record\"}");
  write(dir, "runs/report.json", "{}");  // not a record: not read
  const Predictions p = load_predictions(dir.path() / "runs", "gta");
  ASSERT_EQ(p.by_id.size(), 2u);
  EXPECT_EQ(p.by_id.at("0").answer, "four");
  EXPECT_EQ(p.by_id.at("7").answer, std::nullopt);  // the run ended without an answer
  ASSERT_EQ(p.problems.size(), 2u);
  EXPECT_EQ(p.problems[0].entry, (dir.path() / "runs/c/trajectory.json").string());
  EXPECT_THAT(p.problems[0].message, HasSubstr("a gaia record, not gta"));
  EXPECT_EQ(p.problems[1].entry, (dir.path() / "runs/d/trajectory.json").string());
}

// Regression: the folder walk went into each run's work/, where the model's code can write a
// forged trajectory.json (or a link named so) that then counted as a prediction.
TEST(Predictions, RecordsPlantedInsideARunFolderAreNotRead) {
  core::TempDir dir;
  write_record(dir.path() / "runs/a/trajectory.json", "run-1", "four",
               {{"benchmark", "gta"}, {"id", "0"}});
  write_record(dir.path() / "runs/a/work/trajectory.json", "run-x", "forged",
               {{"benchmark", "gta"}, {"id", "1"}});
  std::filesystem::create_directories(dir.path() / "runs/b/work");
  std::filesystem::create_symlink(dir.path() / "runs/a/work/trajectory.json",
                                  dir.path() / "runs/b/trajectory.json");
  const Predictions p = load_predictions(dir.path() / "runs", "gta");
  ASSERT_EQ(p.by_id.size(), 1u);
  EXPECT_EQ(p.by_id.at("0").answer, "four");
  EXPECT_TRUE(p.problems.empty());
  // A run folder given directly is that one run.
  EXPECT_EQ(load_predictions(dir.path() / "runs/a", "gta").by_id.size(), 1u);
}

TEST(Predictions, AFolderWithoutRecordsIsAProblem) {
  core::TempDir dir;
  const Predictions p = load_predictions(dir.path(), "gta");
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_THAT(p.problems[0].message, HasSubstr("no trajectory.json"));
}

TEST(Predictions, IdsTheBenchmarkLacksAreNamed) {
  Predictions p;
  p.by_id["0"] = {"a", "f:1"};
  p.by_id["gta-1"] = {"b", "f:2"};
  const std::vector<EntryProblem> unknown = unknown_predictions(p, {"0", "1"});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].entry, "gta-1");
  EXPECT_THAT(unknown[0].message, HasSubstr("f:2"));
}

}  // namespace
}  // namespace mat::eval

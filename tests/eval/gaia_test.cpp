// The GAIA loader and the per-level scores on a small metadata.jsonl written here (the real data
// is gated and never committed).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/temp_dir.h"
#include "mat/eval/gaia_dataset.h"
#include "mat/eval/gaia_scores.h"

namespace mat::eval {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kMetadata =
    R"({"task_id": "t1", "Question": "Q1", "Level": 1, "Final answer": "17", "file_name": ""})"
    "\n"
    R"({"task_id": "t2", "Question": "Q2", "Level": "2", "Final answer": "a, b", "file_name": "t2.xlsx"})"
    "\n"
    R"({"task_id": "t3", "Question": "Q3", "Level": 2, "Final answer": "Sea gull", "file_name": "t3.png"})"
    "\n"
    R"({"task_id": "t4", "Question": "Q4", "Level": 3, "Final answer": "$5", "Annotator Metadata": {}})"
    "\n";

TEST(GaiaDataset, ReadsTasksLevelsAndAttachments) {
  core::TempDir dir;
  std::ofstream(dir.path() / "metadata.jsonl") << kMetadata;
  std::ofstream(dir.path() / "t2.xlsx") << "x";
  const GaiaDataset dataset = load_gaia(dir.path());
  EXPECT_TRUE(dataset.problems.empty());
  ASSERT_EQ(dataset.tasks.size(), 4u);
  EXPECT_EQ(dataset.tasks[1].level, 2);
  EXPECT_EQ(dataset.tasks[1].file_name, "t2.xlsx");
  EXPECT_EQ(dataset.tasks[3].file_name, "");
  const std::vector<EntryProblem> missing = missing_files(dataset);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].entry, "t3");
  EXPECT_THAT(missing[0].message, HasSubstr("t3.png"));
}

TEST(GaiaDataset, EveryMalformedLineIsReportedWithItsIdOrLine) {
  core::TempDir dir;
  std::ofstream(dir.path() / "metadata.jsonl")
      << kMetadata << "{broken\n"
      << R"({"Question": "no id", "Level": 1, "Final answer": "x"})"
      << "\n"
      << R"({"task_id": "t5", "Question": "Q", "Level": 4, "Final answer": "x"})"
      << "\n"
      << R"({"task_id": "t6", "Question": "Q", "Level": 1})"
      << "\n"
      << R"({"task_id": "t7", "Question": "Q", "Level": 1, "Final answer": "?"})"
      << "\n"
      << R"({"task_id": "t1", "Question": "Q", "Level": 1, "Final answer": "x"})"
      << "\n";
  const GaiaDataset dataset = load_gaia(dir.path() / "metadata.jsonl");
  EXPECT_EQ(dataset.tasks.size(), 4u);
  ASSERT_EQ(dataset.problems.size(), 6u);
  EXPECT_EQ(dataset.problems[0].entry, "line 5");
  EXPECT_EQ(dataset.problems[1].entry, "line 6");
  EXPECT_EQ(dataset.problems[2].entry, "t5");
  EXPECT_THAT(dataset.problems[2].message, HasSubstr("\"Level\" is 4"));
  EXPECT_EQ(dataset.problems[3].entry, "t6");
  EXPECT_THAT(dataset.problems[3].message, HasSubstr("\"Final answer\""));
  EXPECT_EQ(dataset.problems[4].entry, "t7");
  EXPECT_THAT(dataset.problems[4].message, HasSubstr("test split"));
  EXPECT_EQ(dataset.problems[5].entry, "t1");
  EXPECT_THAT(dataset.problems[5].message, HasSubstr("repeated on line 10"));
}

TEST(GaiaScores, PerLevelAndOverallWithMissingPredictionsWrong) {
  core::TempDir dir;
  std::ofstream(dir.path() / "metadata.jsonl") << kMetadata;
  const GaiaDataset dataset = load_gaia(dir.path());
  Predictions predictions;
  predictions.by_id["t1"] = {"17", "p:1"};
  predictions.by_id["t2"] = {"A; B", "p:2"};
  predictions.by_id["t3"] = {"sea-gull!", "p:3"};
  const GaiaScores scores = score_gaia(dataset, predictions);
  EXPECT_EQ(scores.correct, 3);
  EXPECT_EQ(scores.total, 4);
  EXPECT_EQ(*scores.accuracy(), 75.0);
  EXPECT_EQ(*scores.level_accuracy(1), 100.0);
  EXPECT_EQ(*scores.level_accuracy(2), 100.0);
  EXPECT_EQ(*scores.level_accuracy(3), 0.0);
  EXPECT_THAT(scores.missing, ElementsAre("t4"));
  const core::Json json = scores.to_json();
  EXPECT_EQ(json["accuracy"], 75.0);
  EXPECT_EQ(json["level2"], 100.0);
  EXPECT_EQ(json["level3_total"], 1);
  EXPECT_EQ(json["tasks"][3]["predicted"], false);
}

}  // namespace
}  // namespace mat::eval

// GTA's benchmark-level scores on the real dataset with predictions whose verdicts are known.
#include "mat/eval/gta_scores.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/eval/gta_scorer.h"

namespace mat::eval {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The official scorer's quirk (gta_scorer.h), as the real dataset has it.
const std::vector<std::string> kQuirkIds = {"19", "67",  "69",  "71",  "72", "83",
                                            "94", "170", "171", "198", "206"};

class GtaScoresOnTheBenchmark : public ::testing::Test {
 protected:
  const GtaDataset dataset_ = load_gta(MAT_GTA_DATASET);
};

// An answer naming the first alias of every whitelist group, and every subjective query's first
// reference: what a perfect model would write.
Predictions oracle(const GtaDataset& dataset) {
  Predictions predictions;
  for (const GtaQuery& query : dataset.queries) {
    std::string answer;
    for (const auto& group : query.whitelist) answer += (answer.empty() ? "" : " and ") + group[0];
    if (query.kind == GtaAnswerKind::kSubjective) answer = query.references[0];
    predictions.by_id[query.id] = {answer, "oracle"};
  }
  return predictions;
}

TEST_F(GtaScoresOnTheBenchmark, OracleAnswersScoreFullMarksExceptTheOfficialQuirk) {
  const GtaScores scores = score_gta(dataset_, oracle(dataset_), nullptr);
  EXPECT_EQ(scores.objective, 156);
  EXPECT_EQ(scores.objective_mat, 156);
  EXPECT_EQ(*scores.objective_acc_mat(), 100.0);
  EXPECT_EQ(scores.boundary_quirk, kQuirkIds);
  // Official: right on every query but those the word boundaries cannot match.
  std::vector<std::string> official_wrong;
  for (const GtaQueryScore& query : scores.queries) {
    if (query.kind == GtaAnswerKind::kObjective && !query.official)
      official_wrong.push_back(query.id);
  }
  EXPECT_EQ(official_wrong, kQuirkIds);
  EXPECT_EQ(scores.objective_official, 145);
  EXPECT_THAT(scores.missing, IsEmpty());
}

TEST_F(GtaScoresOnTheBenchmark, TheReferenceDialogsOwnAnswers) {
  // The dataset's own final answers: the quirk, plus query 115 whose reference answer is empty
  // and 211 whose reference answer is "The image is saved.".
  Predictions predictions;
  for (const GtaQuery& query : dataset_.queries) {
    predictions.by_id[query.id] = {query.reference_answer, "reference"};
  }
  const GtaScores scores = score_gta(dataset_, predictions, nullptr);
  EXPECT_EQ(scores.objective_official, 143);
  EXPECT_EQ(scores.objective_mat, 154);
  std::vector<std::string> mat_wrong;
  for (const GtaQueryScore& query : scores.queries) {
    if (query.kind == GtaAnswerKind::kObjective && !query.mat) mat_wrong.push_back(query.id);
  }
  EXPECT_THAT(mat_wrong, ElementsAre("115", "211"));
}

TEST_F(GtaScoresOnTheBenchmark, MissingPredictionsAreWrongAndListed) {
  Predictions predictions = oracle(dataset_);
  predictions.by_id.erase("0");
  predictions.by_id.erase("8");                  // subjective
  predictions.by_id["1"].answer = std::nullopt;  // a run without an answer: predicted, but wrong
  const GtaScores scores = score_gta(dataset_, predictions, nullptr);
  EXPECT_THAT(scores.missing, ElementsAre("0", "8"));
  EXPECT_EQ(scores.objective_mat, 154);
  EXPECT_EQ(scores.objective, 156);  // the denominator stays the benchmark's
  EXPECT_FALSE(scores.queries[1].official);
  EXPECT_TRUE(scores.queries[1].predicted);
}

TEST_F(GtaScoresOnTheBenchmark, WithoutAnEmbedderSubjectiveIsNotScoredNeverZero) {
  const GtaScores scores = score_gta(dataset_, Predictions{}, nullptr);
  EXPECT_EQ(scores.objective_official, 0);
  EXPECT_EQ(*scores.objective_acc_official(), 0.0);
  EXPECT_EQ(scores.missing.size(), 229u);
  EXPECT_EQ(scores.subjective, 16);
  EXPECT_EQ(scores.subjective_acc(), std::nullopt);
  EXPECT_EQ(scores.answer_acc(), std::nullopt);
  const core::Json json = scores.to_json();
  EXPECT_TRUE(json["subjective"]["score_sum"].is_null());
  EXPECT_EQ(json["subjective"]["scored"], false);
  EXPECT_TRUE(json["answer_acc"].is_null());
  EXPECT_EQ(json["image_generation"]["total"], 57);
  EXPECT_EQ(json["image_generation"]["scored"], false);
  EXPECT_TRUE(json["answer_acc_with_image_generation"].is_null());
  EXPECT_EQ(json["official_boundary_quirk"]["count"], 11);
  EXPECT_EQ(json["queries"].size(), 229u);
}

}  // namespace
}  // namespace mat::eval

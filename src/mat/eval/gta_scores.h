// GTA's benchmark-level scores from a set of predictions: the official objective accuracy and
// MAT's lenient one side by side, the subjective score when an embedding model is available, and
// what cannot be scored from answers alone, said rather than guessed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/eval/gta_dataset.h"
#include "mat/eval/predictions.h"
#include "mat/llm/embedder.h"

namespace mat::eval {

struct GtaQueryScore {
  std::string id;
  GtaAnswerKind kind = GtaAnswerKind::kObjective;
  bool predicted = false;            // a prediction exists (a missing one scores as wrong)
  bool official = false;             // objective: the official scorer's verdict
  bool mat = false;                  // objective: MAT's lenient verdict
  std::optional<double> similarity;  // subjective: the official score, when it was computed
};

struct GtaScores {
  std::vector<GtaQueryScore> queries;  // in the dataset's order
  int objective = 0;                   // the denominator of both objective accuracies
  int objective_official = 0;
  int objective_mat = 0;
  int subjective = 0;
  std::optional<double> subjective_sum;     // nullopt: not scored (no embedding model)
  std::string embedding_model;              // the model that scored them
  int image_generation = 0;                 // never scored from answers (see to_json)
  std::vector<std::string> boundary_quirk;  // objective ids hit by has_boundary_quirk
  std::vector<std::string> missing;         // ids without a prediction

  // Percentages (0..100); nullopt when the denominator is zero or a part is not scored.
  std::optional<double> objective_acc_official() const;
  std::optional<double> objective_acc_mat() const;
  std::optional<double> subjective_acc() const;
  // The official end-to-end AnsAcc: (official objective correct + subjective sum) over the
  // text-answer queries. Needs the subjective scores.
  std::optional<double> answer_acc() const;

  // One object: the numbers above under their names, the counts, the lists of ids and one entry
  // per query.
  core::Json to_json() const;
};

// Scores every query of `dataset` against `predictions` (ids the dataset lacks are ignored here;
// see unknown_predictions). Subjective answers go to `embedder` when one is given, one request per
// answered query (a missing or empty answer scores 0 without one); without it they are "not
// scored", never 0 or 1. Throws llm::ModelError when the
// embedder fails.
GtaScores score_gta(const GtaDataset& dataset, const Predictions& predictions,
                    llm::Embedder* embedder);

}  // namespace mat::eval

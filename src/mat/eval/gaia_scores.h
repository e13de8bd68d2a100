// GAIA's benchmark-level scores from a set of predictions: accuracy overall and per level, with
// the official quasi-exact-match scorer.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/eval/gaia_dataset.h"
#include "mat/eval/predictions.h"

namespace mat::eval {

struct GaiaTaskScore {
  std::string id;
  int level = 0;
  bool predicted = false;  // a prediction exists (a missing one scores as wrong)
  bool correct = false;
};

struct GaiaScores {
  std::vector<GaiaTaskScore> tasks;  // in the dataset's order
  int total = 0;
  int correct = 0;
  std::array<int, 3> level_total{};  // [0] is level 1
  std::array<int, 3> level_correct{};
  std::vector<std::string> missing;  // ids without a prediction

  // Percentages (0..100); nullopt when there is no task (at that level).
  std::optional<double> accuracy() const;
  std::optional<double> level_accuracy(int level) const;

  // One object: accuracy, level1..level3 (percent), the counts, the missing ids, one entry per
  // task.
  core::Json to_json() const;
};

// Scores every task of `dataset` against `predictions` (ids the dataset lacks are ignored here;
// see unknown_predictions).
GaiaScores score_gaia(const GaiaDataset& dataset, const Predictions& predictions);

}  // namespace mat::eval

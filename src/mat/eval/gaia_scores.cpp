#include "mat/eval/gaia_scores.h"

#include "mat/eval/gaia_scorer.h"

namespace mat::eval {

namespace {

using core::Json;

std::optional<double> percent(int part, int whole) {
  if (whole == 0) return std::nullopt;
  return 100.0 * part / whole;
}

Json or_null(const std::optional<double>& value) {
  return value ? Json(*value) : Json();
}

}  // namespace

std::optional<double> GaiaScores::accuracy() const {
  return percent(correct, total);
}

std::optional<double> GaiaScores::level_accuracy(int level) const {
  return percent(level_correct[level - 1], level_total[level - 1]);
}

Json GaiaScores::to_json() const {
  Json json = {{"benchmark", "gaia"}, {"accuracy", or_null(accuracy())}};
  for (int level = 1; level <= 3; ++level) {
    json["level" + std::to_string(level)] = or_null(level_accuracy(level));
  }
  json["correct"] = correct;
  json["total"] = total;
  for (int level = 1; level <= 3; ++level) {
    json["level" + std::to_string(level) + "_correct"] = level_correct[level - 1];
    json["level" + std::to_string(level) + "_total"] = level_total[level - 1];
  }
  json["missing_predictions"] = missing;
  Json task_list = Json::array();
  for (const GaiaTaskScore& task : tasks) {
    task_list.push_back({{"id", task.id},
                         {"level", task.level},
                         {"predicted", task.predicted},
                         {"correct", task.correct}});
  }
  json["tasks"] = task_list;
  return json;
}

GaiaScores score_gaia(const GaiaDataset& dataset, const Predictions& predictions) {
  GaiaScores scores;
  for (const GaiaTask& task : dataset.tasks) {
    GaiaTaskScore score{.id = task.id, .level = task.level, .predicted = false, .correct = false};
    const auto found = predictions.by_id.find(task.id);
    score.predicted = found != predictions.by_id.end();
    if (score.predicted) {
      score.correct = gaia_correct(found->second.answer, task.final_answer);
    } else {
      scores.missing.push_back(task.id);
    }
    ++scores.total;
    ++scores.level_total[task.level - 1];
    scores.correct += score.correct;
    scores.level_correct[task.level - 1] += score.correct;
    scores.tasks.push_back(std::move(score));
  }
  return scores;
}

}  // namespace mat::eval

#include "mat/eval/gta_scores.h"

#include "mat/eval/gta_scorer.h"

namespace mat::eval {

namespace {

using core::Json;

constexpr const char* kImageGenerationReason =
    "not scored: the official score compares the generation tools' arguments (from the tool "
    "calls) with BERTScore, which answers alone cannot give";
constexpr const char* kSubjectiveReason = "not scored: no embedding model was configured";

std::optional<double> percent(double part, int whole) {
  if (whole == 0) return std::nullopt;
  return 100.0 * part / whole;
}

Json or_null(const std::optional<double>& value) {
  return value ? Json(*value) : Json();
}

Json query_json(const GtaQueryScore& query) {
  Json json = {{"id", query.id}, {"kind", to_string(query.kind)}, {"predicted", query.predicted}};
  if (query.kind == GtaAnswerKind::kObjective) {
    json["official"] = query.official;
    json["mat"] = query.mat;
  } else if (query.kind == GtaAnswerKind::kSubjective) {
    json["similarity"] = or_null(query.similarity);
  }
  return json;
}

}  // namespace

std::optional<double> GtaScores::objective_acc_official() const {
  return percent(objective_official, objective);
}

std::optional<double> GtaScores::objective_acc_mat() const {
  return percent(objective_mat, objective);
}

std::optional<double> GtaScores::subjective_acc() const {
  if (!subjective_sum) return std::nullopt;
  return percent(*subjective_sum, subjective);
}

std::optional<double> GtaScores::answer_acc() const {
  if (!subjective_sum && subjective > 0) return std::nullopt;
  return percent(objective_official + subjective_sum.value_or(0), objective + subjective);
}

Json GtaScores::to_json() const {
  Json subjective_json = {{"total", subjective},
                          {"scored", subjective_sum.has_value()},
                          {"score_sum", or_null(subjective_sum)},
                          {"embedding_model", subjective_sum ? Json(embedding_model) : Json()}};
  if (!subjective_sum) subjective_json["reason"] = kSubjectiveReason;
  Json query_list = Json::array();
  for (const GtaQueryScore& query : queries) query_list.push_back(query_json(query));
  return {{"benchmark", "gta"},
          {"objective_acc_official", or_null(objective_acc_official())},
          {"objective_acc_mat", or_null(objective_acc_mat())},
          {"objective_total", objective},
          {"objective_correct_official", objective_official},
          {"objective_correct_mat", objective_mat},
          {"subjective_acc", or_null(subjective_acc())},
          {"answer_acc", or_null(answer_acc())},
          {"answer_acc_with_image_generation", Json()},
          {"subjective", subjective_json},
          {"image_generation",
           {{"total", image_generation}, {"scored", false}, {"reason", kImageGenerationReason}}},
          {"official_boundary_quirk", {{"count", boundary_quirk.size()}, {"ids", boundary_quirk}}},
          {"missing_predictions", missing},
          {"queries", query_list}};
}

GtaScores score_gta(const GtaDataset& dataset, const Predictions& predictions,
                    llm::Embedder* embedder) {
  GtaScores scores;
  if (embedder) {
    scores.subjective_sum = 0;
    scores.embedding_model = embedder->model_name();
  }
  for (const GtaQuery& query : dataset.queries) {
    GtaQueryScore score;
    score.id = query.id;
    score.kind = query.kind;
    const auto found = predictions.by_id.find(query.id);
    score.predicted = found != predictions.by_id.end();
    if (!score.predicted) scores.missing.push_back(query.id);
    const std::string answer = score.predicted ? found->second.answer.value_or("") : std::string();
    switch (query.kind) {
      case GtaAnswerKind::kObjective:
        ++scores.objective;
        score.official = official_correct(answer, query.whitelist, query.blacklist);
        score.mat = mat_correct(answer, query.whitelist);
        scores.objective_official += score.official;
        scores.objective_mat += score.mat;
        if (has_boundary_quirk(query.whitelist)) scores.boundary_quirk.push_back(query.id);
        break;
      case GtaAnswerKind::kSubjective:
        ++scores.subjective;
        if (embedder) {
          score.similarity =
              answer.empty() ? 0.0 : subjective_score(answer, query.references, *embedder);
          *scores.subjective_sum += *score.similarity;
        }
        break;
      case GtaAnswerKind::kImageGeneration:
        ++scores.image_generation;
        break;
    }
    scores.queries.push_back(std::move(score));
  }
  return scores;
}

}  // namespace mat::eval

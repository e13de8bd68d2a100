#include "mat/eval/gaia_reformat.h"

#include <map>

namespace mat::eval {
namespace {

constexpr int kMaxAnswerTokens = 128;
constexpr const char* kInstructions =
    "You rewrite an answer to a question into the exact form the question asks for, changing "
    "nothing of its content. Give a number as digits only, without units, thousands separators "
    "or currency signs unless the question asks for them; a list as items separated by commas; "
    "a string as few words as possible, without articles or abbreviations unless asked. Reply "
    "with the rewritten answer alone.";

}  // namespace

ReformattedGaia reformat_and_rescore(const GaiaDataset& dataset, const Predictions& predictions,
                                     const GaiaScores& official, llm::ChatModel& model) {
  std::map<std::string, const GaiaTask*> tasks;
  for (const GaiaTask& task : dataset.tasks) tasks[task.id] = &task;
  ReformattedGaia result;
  result.predictions = predictions;
  llm::GenerationParams params;
  params.temperature = 0.0;
  params.max_tokens = kMaxAnswerTokens;
  for (const GaiaTaskScore& score : official.tasks) {
    if (score.correct || !score.predicted) continue;
    Prediction& prediction = result.predictions.by_id.at(score.id);
    if (!prediction.answer) continue;
    const std::vector<llm::ChatMessage> messages = {
        llm::ChatMessage::text(llm::Role::kSystem, kInstructions),
        llm::ChatMessage::text(llm::Role::kUser,
                               "Question: " + tasks.at(score.id)->question +
                                   "\n\nAnswer to rewrite: " + *prediction.answer)};
    prediction.answer = model.chat(messages, params).text;
    ++result.rewritten;
  }
  result.scores = score_gaia(dataset, result.predictions);
  return result;
}

}  // namespace mat::eval

#include "eval_command.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eval_run_command.h"
#include "mat/core/error.h"
#include "mat/eval/gaia_reformat.h"
#include "mat/eval/gaia_scores.h"
#include "mat/eval/gta_scores.h"
#include "mat/llm/openai_client.h"
#include "mat/llm/openai_embedder.h"
#include "score_tables.h"

namespace mat::cli {
namespace {

struct ScoreSettings {
  std::string benchmark;  // "gta" or "gaia"
  std::string data;
  std::string predictions;
  bool json = false;
  std::string embedding_model;
  std::string embedding_url;
  std::string reformat_model;  // GAIA: MAT's reformat-and-rescore, reported apart
  std::string reformat_url;
};

// A problem the user must fix before scores mean anything: exit 2 with the message.
class UsageProblem : public core::Error {
 public:
  using core::Error::Error;
};

// Throws UsageProblem listing every problem of `what`: a score over a silently shrunk benchmark, or
// without some of the answers given, would not compare with anyone's.
void refuse_if_any(const std::string& what, const std::vector<eval::EntryProblem>& problems) {
  if (problems.empty()) return;
  std::string message = what + " has " + std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + "; fix them and score again:";
  for (const eval::EntryProblem& problem : problems) {
    message += "\n  " + problem.entry + ": " + problem.message;
  }
  throw UsageProblem(message);
}

eval::Predictions checked_predictions(const ScoreSettings& s, const std::vector<std::string>& ids) {
  eval::Predictions predictions = eval::load_predictions(s.predictions, s.benchmark);
  std::vector<eval::EntryProblem> problems = predictions.problems;
  const std::vector<eval::EntryProblem> unknown = eval::unknown_predictions(predictions, ids);
  problems.insert(problems.end(), unknown.begin(), unknown.end());
  refuse_if_any("the predictions " + s.predictions, problems);
  return predictions;
}

std::unique_ptr<llm::Embedder> embedder_from(const ScoreSettings& s) {
  if (s.embedding_model.empty()) return nullptr;
  llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
  if (!s.embedding_url.empty()) config.base_url = s.embedding_url;
  config.model = s.embedding_model;
  try {
    return std::make_unique<llm::OpenAIEmbedder>(config);
  } catch (const core::Error& e) {
    throw UsageProblem(e.what());
  }
}

// The model that rewrites wrong GAIA answers (MAT's second chance), at --reformat-url or
// OPENAI_BASE_URL.
std::unique_ptr<llm::ChatModel> reformat_model_from(const ScoreSettings& s) {
  llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
  if (!s.reformat_url.empty()) config.base_url = s.reformat_url;
  config.model = s.reformat_model;
  config.stream = false;
  try {
    return std::make_unique<llm::OpenAIChatModel>(config);
  } catch (const core::Error& e) {
    throw UsageProblem(e.what());
  }
}

core::Json score_gta(const ScoreSettings& s) {
  const eval::GtaDataset dataset = eval::load_gta(s.data);
  refuse_if_any("the GTA dataset " + s.data, dataset.problems);
  std::vector<std::string> ids;
  for (const eval::GtaQuery& query : dataset.queries) ids.push_back(query.id);
  const eval::Predictions predictions = checked_predictions(s, ids);
  const std::unique_ptr<llm::Embedder> embedder = embedder_from(s);
  const eval::GtaScores scores = eval::score_gta(dataset, predictions, embedder.get());
  if (!s.json) print_gta_table(std::cout, scores);
  return scores.to_json();
}

core::Json score_gaia(const ScoreSettings& s) {
  const eval::GaiaDataset dataset = eval::load_gaia(s.data);
  refuse_if_any("the GAIA metadata " + s.data, dataset.problems);
  std::vector<std::string> ids;
  for (const eval::GaiaTask& task : dataset.tasks) ids.push_back(task.id);
  const eval::Predictions predictions = checked_predictions(s, ids);
  const eval::GaiaScores scores = eval::score_gaia(dataset, predictions);
  if (!s.json) print_gaia_table(std::cout, scores);
  core::Json result = scores.to_json();
  if (!s.reformat_model.empty()) {
    const std::unique_ptr<llm::ChatModel> model = reformat_model_from(s);
    const eval::ReformattedGaia second =
        eval::reformat_and_rescore(dataset, predictions, scores, *model);
    if (!s.json) {
      std::cout << "\nMAT's reformat-and-rescore (not the official score): " << second.rewritten
                << " wrong answers rewritten by " << s.reformat_model << "\n";
      print_gaia_table(std::cout, second.scores);
    }
    result["mat_reformatted"] = second.scores.to_json();
    result["mat_reformatted"]["rewritten"] = second.rewritten;
    result["mat_reformatted"]["model"] = s.reformat_model;
  }
  return result;
}

int score(const ScoreSettings& s) {
  try {
    const core::Json scores = s.benchmark == "gta" ? score_gta(s) : score_gaia(s);
    if (s.json) std::cout << scores.dump(2) << "\n";
    return 0;
  } catch (const UsageProblem& e) {
    std::cerr << "mat eval score: " << e.what() << "\n";
    return 2;
  } catch (const llm::ModelError& e) {
    std::cerr << "mat eval score: a model request failed: " << e.what() << "\n";
    return 1;
  } catch (const core::Error& e) {  // a file that cannot be read or is not what it should be
    std::cerr << "mat eval score: " << e.what() << "\n";
    return 2;
  }
}

void add_score_command(CLI::App& eval, int& exit_code) {
  auto settings = std::make_shared<ScoreSettings>();
  CLI::App* cmd = eval.add_subcommand(
      "score", "Score a model's answers to GTA or GAIA with the official scorers");
  cmd->add_option("benchmark", settings->benchmark, "gta or gaia")
      ->required()
      ->check(CLI::IsMember({"gta", "gaia"}));
  cmd->add_option("--data", settings->data,
                  "The benchmark: GTA's dataset.json or GAIA's metadata.jsonl (or their folder)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--predictions", settings->predictions,
                  "A JSONL file of {\"id\": ..., \"answer\": ...} lines, or a folder of runs "
                  "(every trajectory.json below it; the id is source.id, else the record's id)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_flag("--json", settings->json, "Print one JSON object instead of the table");
  cmd->add_option("--embedding-model", settings->embedding_model,
                  "GTA: score the subjective answers by cosine similarity with this embedding "
                  "model (the official evaluator uses all-mpnet-base-v2); unscored without it");
  cmd->add_option("--embedding-url", settings->embedding_url,
                  "The OpenAI-compatible server of the embedding model, up to /v1 (default: "
                  "OPENAI_BASE_URL; the key comes from OPENAI_API_KEY)");
  cmd->add_option("--reformat-model", settings->reformat_model,
                  "GAIA: also report MAT's second chance, labelled apart from the official "
                  "score: wrong answers rewritten into the question's form by this model and "
                  "scored again");
  cmd->add_option("--reformat-url", settings->reformat_url,
                  "The OpenAI-compatible server of --reformat-model (default: OPENAI_BASE_URL)");
  cmd->callback([settings, &exit_code] { exit_code = score(*settings); });
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_code) {
  CLI::App* eval = app.add_subcommand(
      "eval", "Benchmarks: run the agent on GTA or GAIA, score answers, report and compare runs");
  eval->require_subcommand(1);
  add_score_command(*eval, exit_code);
  add_eval_run_commands(*eval, exit_code);
}

}  // namespace mat::cli

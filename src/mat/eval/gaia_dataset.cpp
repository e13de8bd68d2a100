#include "mat/eval/gaia_dataset.h"

#include <set>
#include <variant>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/eval/jsonl.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

// The level as the releases write it: 1, or "1".
int level_of(const Json& value) {
  if (value.is_number_integer()) return value.get<int>();
  if (value.is_string() && value.get<std::string>().size() == 1) {
    return value.get<std::string>()[0] - '0';
  }
  return 0;
}

// The task `json` describes, or the reason it is malformed.
std::variant<GaiaTask, std::string> read_task(const Json& json, const std::string& id) {
  for (const char* name : {"Question", "Final answer"}) {
    if (!json.contains(name) || !json[name].is_string()) {
      return std::string("\"") + name + "\" is missing or not a string";
    }
  }
  const Json file_name = json.value("file_name", Json(""));
  if (!file_name.is_string()) return std::string("\"file_name\" is not a string");
  GaiaTask task{.id = id,
                .question = json["Question"].get<std::string>(),
                .level = level_of(json.value("Level", Json())),
                .final_answer = json["Final answer"].get<std::string>(),
                .file_name = file_name.get<std::string>()};
  if (task.final_answer == "?") {
    return std::string(
        "the answer is withheld (\"?\"): this is the test split, whose answers only "
        "the leaderboard has; score the validation split");
  }
  if (task.level < 1 || task.level > 3) {
    return "\"Level\" is " + json.value("Level", Json()).dump() + ", not 1, 2 or 3";
  }
  return task;
}

}  // namespace

GaiaDataset load_gaia(const fs::path& path) {
  const fs::path file = fs::is_directory(path) ? path / "metadata.jsonl" : path;
  const std::string text = core::read_file(file);
  GaiaDataset dataset;
  dataset.dir = file.parent_path();
  std::set<std::string> seen;
  for_each_jsonl_object(text, [&](const std::optional<Json>& json, size_t line) {
    const std::string where = "line " + std::to_string(line);
    const Json id = json ? json->value("task_id", Json()) : Json();
    if (!id.is_string() || id.get<std::string>().empty()) {
      dataset.problems.push_back({where, json ? "no \"task_id\" string" : "not a JSON object"});
      return;
    }
    const std::string task_id = id.get<std::string>();
    auto task = read_task(*json, task_id);
    if (const auto* reason = std::get_if<std::string>(&task)) {
      dataset.problems.push_back({task_id, *reason + " (" + where + ")"});
    } else if (!seen.insert(task_id).second) {
      dataset.problems.push_back({task_id, "repeated on " + where});
    } else {
      dataset.tasks.push_back(std::get<GaiaTask>(std::move(task)));
    }
  });
  if (dataset.tasks.empty() && dataset.problems.empty()) {
    dataset.problems.push_back({file.string(), "no questions: is this GAIA's metadata.jsonl?"});
  }
  return dataset;
}

std::vector<EntryProblem> missing_files(const GaiaDataset& dataset) {
  std::vector<EntryProblem> problems;
  for (const GaiaTask& task : dataset.tasks) {
    if (task.file_name.empty() || fs::exists(dataset.dir / task.file_name)) continue;
    problems.push_back({task.id, "its attachment " + task.file_name + " is not in " +
                                     dataset.dir.string() +
                                     ": copy the release's attachments beside metadata.jsonl"});
  }
  return problems;
}

}  // namespace mat::eval

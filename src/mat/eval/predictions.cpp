#include "mat/eval/predictions.h"

#include <algorithm>
#include <set>

#include "mat/agent/trajectory.h"
#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/eval/jsonl.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr const char* kRecordName = "trajectory.json";

// Ids as benchmarks write them: strings, or integers for GTA's keys written as numbers.
std::optional<std::string> id_text(const Json& value) {
  if (value.is_string() && !value.get<std::string>().empty()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return std::nullopt;
}

void add(Predictions& predictions, const std::string& id, Prediction prediction) {
  const auto [it, added] = predictions.by_id.emplace(id, prediction);
  if (!added) {
    predictions.problems.push_back({id, "predicted twice, in " + it->second.origin + " and in " +
                                            prediction.origin + ": keep one answer per id"});
  }
}

void read_jsonl(Predictions& predictions, const fs::path& file) {
  for_each_jsonl_object(core::read_file(file), [&](const std::optional<Json>& json, size_t line) {
    const std::string origin = file.string() + ":" + std::to_string(line);
    if (!json) {
      predictions.problems.push_back(
          {origin, "not a JSON object: expected {\"id\": ..., \"answer\": ...}"});
      return;
    }
    const std::optional<std::string> id = id_text(json->value("id", Json()));
    if (!id) {
      predictions.problems.push_back({origin, "no \"id\" (a string or an integer)"});
      return;
    }
    if (!json->contains("answer")) {
      predictions.problems.push_back(
          {*id, origin + " has no \"answer\" (write null when the model gave none)"});
      return;
    }
    const Json& answer = (*json)["answer"];
    add(predictions, *id,
        {answer.is_null() ? std::nullopt : std::optional(agent::answer_text(answer)), origin});
  });
}

// source.<name> of a record, null when absent (source is free-form: any JSON).
Json source_field(const agent::Trajectory& record, const char* name) {
  return record.source.is_object() ? record.source.value(name, Json()) : Json();
}

void read_record(Predictions& predictions, const fs::path& file, std::string_view benchmark) {
  agent::Trajectory record;
  try {
    record = agent::Trajectory::from_json(core::read_json_file(file));
  } catch (const core::Error& error) {
    predictions.problems.push_back({file.string(), error.what()});
    return;
  } catch (const Json::exception& error) {  // a field of the wrong type where a default applies
    predictions.problems.push_back({file.string(), error.what()});
    return;
  }
  const Json recorded_benchmark = source_field(record, "benchmark");
  if (recorded_benchmark.is_string() && recorded_benchmark != benchmark) {
    predictions.problems.push_back({file.string(), "a " + recorded_benchmark.get<std::string>() +
                                                       " record, not " + std::string(benchmark) +
                                                       ": score it against its own benchmark"});
    return;
  }
  const Json source_id = source_field(record, "id");
  const std::optional<std::string> id =
      source_id.is_null() ? std::optional(record.id) : id_text(source_id);
  if (!id) {
    predictions.problems.push_back({file.string(), "source.id is not a string or an integer"});
    return;
  }
  add(predictions, *id, {record.final_answer, file.string()});
}

// A run's record when `folder` is a run folder: its trajectory.json, a regular file and not a
// link.
std::optional<fs::path> record_of(const fs::path& folder) {
  std::error_code error;
  const fs::path file = folder / kRecordName;
  if (fs::symlink_status(file, error).type() != fs::file_type::regular) return std::nullopt;
  return file;
}

// Every run folder's record below `dir`. A run folder is not searched further: its work/ is
// where the model's code wrote, and a trajectory.json (or a link) planted there must not count
// as a prediction. Links to folders are not followed.
void read_records(Predictions& predictions, const fs::path& dir, std::string_view benchmark) {
  std::vector<fs::path> files;
  try {
    const std::optional<fs::path> single_run = record_of(dir);
    if (single_run) files.push_back(*single_run);
    for (auto it = fs::recursive_directory_iterator(dir);
         !single_run && it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_directory() || it->is_symlink()) continue;
      if (std::optional<fs::path> file = record_of(it->path())) {
        files.push_back(*file);
        it.disable_recursion_pending();
      }
    }
  } catch (const fs::filesystem_error& error) {
    throw core::Error("cannot list the trajectory records in " + dir.string() + ": " +
                      error.code().message());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) read_record(predictions, file, benchmark);
}

}  // namespace

Predictions load_predictions(const fs::path& path, std::string_view benchmark) {
  Predictions predictions;
  if (fs::is_directory(path)) {
    read_records(predictions, path, benchmark);
  } else {
    read_jsonl(predictions, path);
  }
  if (predictions.by_id.empty() && predictions.problems.empty()) {
    const std::string expected = fs::is_directory(path)
                                     ? std::string("no ") + kRecordName + " below it"
                                     : "no lines; expected {\"id\": ..., \"answer\": ...} per line";
    predictions.problems.push_back({path.string(), expected});
  }
  return predictions;
}

std::vector<EntryProblem> unknown_predictions(const Predictions& predictions,
                                              const std::vector<std::string>& ids) {
  const std::set<std::string> known(ids.begin(), ids.end());
  std::vector<EntryProblem> problems;
  for (const auto& [id, prediction] : predictions.by_id) {
    if (known.contains(id)) continue;
    problems.push_back(
        {id, prediction.origin +
                 " answers an id that is not in the benchmark: check that it was "
                 "made for this benchmark and writes its ids as the benchmark does"});
  }
  return problems;
}

}  // namespace mat::eval

#include "mat/agent/trajectory.h"

#include <algorithm>
#include <cctype>

#include "mat/core/error.h"
#include "mat/core/image.h"

namespace mat::agent {
namespace {

template <typename T>
core::Json optional_json(const std::optional<T>& value) {
  return value ? core::Json(*value) : core::Json(nullptr);
}

template <typename T>
std::optional<T> optional_field(const core::Json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  return json[key].get<T>();
}

// Reads a required field with a message that names the record's field.
template <typename T>
T required_field(const core::Json& json, const char* key, const char* record) {
  if (!json.contains(key)) {
    throw core::Error(std::string(record) + " record has no '" + key + "' field");
  }
  try {
    return json[key].get<T>();
  } catch (const core::Json::exception& e) {
    throw core::Error(std::string(record) + " record field '" + key +
                      "' has the wrong type: " + e.what());
  }
}

}  // namespace

std::string file_type_of(const std::filesystem::path& path) {
  if (core::has_image_extension(path)) return "image";
  std::string ext = path.extension().string();
  if (ext.empty()) return "file";
  ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

std::string answer_text(const core::Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

core::Json Step::to_json() const {
  return {{"index", index},
          {"raw", raw},
          {"thought", thought},
          {"code", code},
          {"observation", optional_json(observation)},
          {"error", optional_json(error)},
          {"images", images},
          {"finish_reason", finish_reason},
          {"tokens_in", tokens_in},
          {"tokens_out", tokens_out},
          {"model_ms", model_ms},
          {"exec_ms", exec_ms}};
}

Step Step::from_json(const core::Json& json) {
  Step step;
  step.index = required_field<int>(json, "index", "step");
  step.raw = required_field<std::string>(json, "raw", "step");
  step.thought = json.value("thought", "");
  step.code = json.value("code", "");
  step.observation = optional_field<std::string>(json, "observation");
  step.error = optional_field<std::string>(json, "error");
  step.images = json.value("images", std::vector<std::string>{});
  step.finish_reason = json.value("finish_reason", "");
  step.tokens_in = json.value("tokens_in", std::int64_t{0});
  step.tokens_out = json.value("tokens_out", std::int64_t{0});
  step.model_ms = json.value("model_ms", 0.0);
  step.exec_ms = json.value("exec_ms", 0.0);
  return step;
}

core::Json Trajectory::to_json() const {
  core::Json files_json = core::Json::array();
  for (const FileRef& file : files)
    files_json.push_back({{"path", file.path}, {"type", file.type}});
  core::Json steps_json = core::Json::array();
  for (const Step& step : steps) steps_json.push_back(step.to_json());
  core::Json best = nullptr;
  if (best_answer_request) {
    best = {{"raw", best_answer_request->raw},
            {"tokens_in", best_answer_request->tokens_in},
            {"tokens_out", best_answer_request->tokens_out},
            {"model_ms", best_answer_request->model_ms}};
  }
  return {{"id", id},
          {"task", task},
          {"files", std::move(files_json)},
          {"tools", tools},
          {"prompt_version", prompt_version},
          {"model",
           {{"backend", model.backend},
            {"name", model.name},
            {"adapter", optional_json(model.adapter)}}},
          {"steps", std::move(steps_json)},
          {"final_answer", optional_json(final_answer)},
          {"end_reason", end_reason},
          {"error", optional_json(error)},
          {"best_answer_request", std::move(best)},
          {"run_dir", run_dir},
          {"started_at", started_at},
          {"wall_ms", wall_ms},
          {"ground_truth", ground_truth},
          {"verdicts", verdicts},
          {"source", source}};
}

Trajectory Trajectory::from_json(const core::Json& json) {
  if (!json.is_object()) throw core::Error("a trajectory record must be a JSON object");
  Trajectory t;
  t.id = required_field<std::string>(json, "id", "trajectory");
  t.task = required_field<std::string>(json, "task", "trajectory");
  for (const core::Json& file : json.value("files", core::Json::array())) {
    t.files.push_back(
        {required_field<std::string>(file, "path", "file"), file.value("type", "file")});
  }
  t.tools = json.value("tools", std::vector<std::string>{});
  t.prompt_version = required_field<std::string>(json, "prompt_version", "trajectory");
  if (json.contains("model") && json["model"].is_object()) {
    const core::Json& model = json["model"];
    t.model = {model.value("backend", ""), model.value("name", ""),
               optional_field<std::string>(model, "adapter")};
  }
  for (const core::Json& step : json.value("steps", core::Json::array())) {
    t.steps.push_back(Step::from_json(step));
  }
  t.final_answer = optional_field<std::string>(json, "final_answer");
  t.end_reason = required_field<std::string>(json, "end_reason", "trajectory");
  t.error = optional_field<std::string>(json, "error");
  if (json.contains("best_answer_request") && json["best_answer_request"].is_object()) {
    const core::Json& best = json["best_answer_request"];
    t.best_answer_request =
        BestAnswerRequest{best.value("raw", ""), best.value("tokens_in", std::int64_t{0}),
                          best.value("tokens_out", std::int64_t{0}), best.value("model_ms", 0.0)};
  }
  t.run_dir = json.value("run_dir", "");
  t.started_at = json.value("started_at", "");
  t.wall_ms = json.value("wall_ms", 0.0);
  t.ground_truth = json.value("ground_truth", core::Json());
  t.verdicts = json.value("verdicts", core::Json::object());
  t.source = json.value("source", core::Json::object());
  return t;
}

}  // namespace mat::agent

// The trajectory record: one JSON object per run, shared by the agent, the data pipeline, the
// trainer, the evaluator and the viewer. Steps are plain records; memory.h renders them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/llm/chat_model.h"

namespace mat::agent {

struct FileRef {
  std::string path;  // as the model sees it (relative to the run's working directory)
  std::string type;  // "image", "pdf", "xlsx", ... (see file_type_of)
};

// "image" for image extensions, otherwise the lower-case extension without the dot ("file" if
// none).
std::string file_type_of(const std::filesystem::path& path);

struct Step {
  int index = 0;
  std::string raw;  // the model's reply as generated
  std::string thought;
  std::string code;                        // empty when the reply could not be parsed
  std::optional<std::string> observation;  // what the code printed (or the no-output hint)
  std::optional<std::string> error;        // parse error, exception, timeout, ...
  std::vector<std::string> images;         // shown with the observation; relative to the run dir
  std::string finish_reason;               // "stop", "length" (cut by max_tokens), "error", ...
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double model_ms = 0;
  double exec_ms = 0;

  core::Json to_json() const;
  static Step from_json(const core::Json& json);
};

// The extra request made when a limit cut the run off: "give your best answer now".
struct BestAnswerRequest {
  std::string raw;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double model_ms = 0;
};

namespace end_reason {
inline constexpr const char* kFinalAnswer = "final_answer";
inline constexpr const char* kMaxSteps = "max_steps";
inline constexpr const char* kMaxErrors = "max_errors";
inline constexpr const char* kModelError = "model_error";
inline constexpr const char* kInputError = "input_error";      // a bad attached file: no model call
inline constexpr const char* kSandboxError = "sandbox_error";  // no worker could be started
inline constexpr const char* kInterrupted = "interrupted";     // the process stopped mid-run
inline constexpr const char* kInternalError = "internal_error";  // a bug in mat: please report
}  // namespace end_reason

struct Trajectory {
  std::string id;
  std::string task;
  std::vector<FileRef> files;
  std::vector<std::string> tools;
  std::string prompt_version;
  llm::ModelIdentity model;
  std::vector<Step> steps;
  std::optional<std::string> final_answer;
  std::string end_reason;
  std::optional<std::string> error;  // why the run failed, when it did
  std::optional<BestAnswerRequest> best_answer_request;
  std::string run_dir;     // absolute: images and the work dir are found under it
  std::string started_at;  // ISO 8601, UTC
  double wall_ms = 0;
  core::Json ground_truth;  // filled by the evaluator / pipeline
  core::Json verdicts = core::Json::object();
  core::Json source = core::Json::object();

  bool succeeded() const { return end_reason == end_reason::kFinalAnswer; }
  core::Json to_json() const;
  // Throws core::Error naming the missing or mistyped field.
  static Trajectory from_json(const core::Json& json);
};

// A final_answer(...) value as text: strings as they are, anything else as JSON.
std::string answer_text(const core::Json& value);

}  // namespace mat::agent

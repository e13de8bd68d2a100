// The teacher contract of `mat synth`: every request carries `X-Mat-Stage: NAME`; a reply is
// parsed for one JSON value (bare or in a ```json fence) and checked for the stage's shape; a
// reply that fails is asked again, with the error shown to the teacher, up to a limit.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/json.h"
#include "mat/llm/chat_model.h"
#include "mat/llm/openai_client.h"
#include "mat/synth/store.h"

namespace mat::synth {

inline constexpr const char* kStageHeader = "X-Mat-Stage";

namespace stage {
inline constexpr const char* kQueries = "queries";
inline constexpr const char* kVerifyFiles = "verify_files";
inline constexpr const char* kTrajectory = "trajectory";
inline constexpr const char* kVerifyTrajectory = "verify_trajectory";
}  // namespace stage

// The teacher model for one stage: `config` with the stage header added.
std::shared_ptr<llm::ChatModel> make_stage_model(llm::OpenAIConfig config, const std::string& name);

// Gives the teacher model of a stage (one per stage name; shared by the workers).
using StageModels = std::function<std::shared_ptr<llm::ChatModel>(const std::string& stage)>;

// The one JSON value in `reply`: the whole reply, or the content of its only ```json (or bare
// ```) fence. Returns the value, or the error to show the teacher.
struct Extracted {
  std::optional<core::Json> value;
  std::string error;
};
Extracted extract_json(std::string_view reply);

// Checks a parsed reply's shape; returns the problem, or nullopt when it is right.
using ShapeCheck = std::function<std::optional<std::string>(const core::Json&)>;

struct TeacherAnswer {
  std::optional<core::Json> value;  // set on success
  std::string error;                // the last problem, when value is not set
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  int attempts = 0;
};

// Where a call belongs, for the store's call log (nullptr store: not logged).
struct CallContext {
  Store* store = nullptr;
  std::string stage;
  std::optional<std::int64_t> task;
  std::optional<std::int64_t> batch;
};

// Asks `model` and parses its reply for one JSON value passing `check`. A reply that does not
// parse or check is answered with the error and asked again, `max_attempts` times in all. A
// permanent model failure (a refused request) ends at once with its message; a transient one
// (llm::ModelError::retryable(): the client's retries ran out) and core::Interrupted propagate,
// since they say nothing about the task.
TeacherAnswer ask_json(llm::ChatModel& model, std::vector<llm::ChatMessage> messages,
                       const llm::GenerationParams& params, const ShapeCheck& check,
                       int max_attempts, const CallContext& context);

// `inner` with every call logged in the context's store (request, reply or error, tokens): what
// the trajectory stage's agent talks to. `inner` must outlive it.
std::unique_ptr<llm::ChatModel> recording_model(llm::ChatModel& inner, CallContext context);

// What a request to the teacher of `stage` asks, as a short stable key (FNV-1a of the stage, the
// seed and the messages' text): the same request in another run, or after a resume, has the
// same key, which is how replay finds its recorded reply. Images are left out of the text.
std::string request_key(const std::string& stage, const std::vector<llm::ChatMessage>& messages,
                        const llm::GenerationParams& params);

// Shape checks of the verifier replies: {"verdict": "yes"|"no", "reason": str, ...}; with
// `updated_query`, also "updated_query": str or null.
std::optional<std::string> check_verdict(const core::Json& value, bool updated_query);

}  // namespace mat::synth

// The model, prompt and agent flags that `mat run` and `mat eval gta|gaia` share, and the model
// they describe: one place for the option names, their checks and defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/agent/prompt.h"
#include "mat/llm/openai_client.h"
#include "mat/tools/registry.h"
#include "tool_models_setup.h"

namespace mat::cli {

struct ModelSettings {
  std::string model;
  std::string base_url;
  std::string weights;  // a local Qwen2-VL checkpoint run in process instead of an endpoint
  std::string lora;     // a PEFT adapter for `weights`
  std::string dtype = "bf16";
  std::string prompt_template;
  std::vector<std::string> authorized_imports;
  std::vector<std::string> tools;  // the tools offered; empty: every built-in one that works here
  int max_steps = 8;
  int max_errors = 5;
  std::optional<double> temperature;
  std::optional<double> top_p;
  int max_tokens = 2048;
  std::optional<int> seed;
  int image_max_side = 1280;
  double image_max_megapixels = 40;
  int max_images_per_step = 4;
  double step_timeout_s = 60;
  double idle_timeout_s = 60;
  double request_timeout_s = 600;
  bool no_stream = false;
  bool unsafe_no_sandbox = false;
  ToolModelSettings tool_models;
};

// Adds --model (or MAT_MODEL), --base-url, --weights, --lora, --dtype (one of --model and
// --weights is needed), --prompt-template, --tools, --authorized-imports,
// the step, sampling, image and timeout limits, --tool-model, --tool-base-url, --no-stream and
// --unsafe-no-sandbox to `cmd`.
void add_model_options(CLI::App& cmd, ModelSettings& settings);

// The message for a user who configured no endpoint (no --base-url, OPENAI_BASE_URL nor
// OPENAI_API_KEY), naming `command` ("mat run"); nullopt when one is configured or the model is
// local (--weights).
std::optional<std::string> missing_endpoint_message(const ModelSettings& settings,
                                                    std::string_view command);

// The embedded controller: the tiny Qwen2-VL that `make run` trains offline and installs as
// `controller/` beside the mat executable (build/controller; MAT_CONTROLLER names another
// folder). When `settings` name no model and
// no endpoint is configured, and that checkpoint exists, returns the settings that run it in
// process (f32, its LoRA merged in, the prompt and tools it was tuned with), and points
// MAT_SEARCH_DB at the search corpus it was tuned with when no search backend is configured;
// nullopt otherwise.
// Throws core::Error when its kControllerAgentFile cannot be read.
std::optional<ModelSettings> embedded_controller_settings(const ModelSettings& settings);
// The file beside the embedded controller's weights with the agent it was tuned as:
// {"prompt_template": "t3-tiny", "tools": ["ocr", ...]}.
inline constexpr const char* kControllerAgentFile = "mat_agent.json";
// The offline corpus beside it that its web_search was tuned on; used when neither MAT_SEARCH_DB
// nor MAT_SEARCH_BACKEND is set.
inline constexpr const char* kControllerSearchCorpus = "search.db";

agent::AgentOptions agent_options(const ModelSettings& settings);

// What an agent needs from the settings: the model, the tools (and the models they ask) and the
// prompt. Throws core::Error on a bad address, an unreadable prompt template or a --tools name that
// is no tool here.
struct ModelSetup {
  std::shared_ptr<llm::ChatModel> model;  // the endpoint's, or the local engine's
  tools::ToolModels tool_models;
  tools::ToolRegistry registry;
  agent::PromptTemplate prompt;
};
ModelSetup make_model_setup(const ModelSettings& settings);

// A validator for a finite number in [low, high] (CLI::Range lets NaN through).
CLI::Validator finite_in(double low, double high);

std::chrono::milliseconds milliseconds(double seconds);

}  // namespace mat::cli

#include "model_setup.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "mat/core/heap_reuse.h"
#include "mat/core/json.h"
#include "mat/engine/local_chat_model.h"
#include "mat/engine/local_engine.h"

namespace mat::cli {
namespace {

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// --prompt-template: a template file, or the name of a built-in version (t3-tiny).
agent::PromptTemplate prompt_template(const std::string& value) {
  if (value.empty()) return agent::PromptTemplate::builtin();
  std::error_code error;
  if (!std::filesystem::exists(value, error) && value.find('/') == std::string::npos &&
      !value.ends_with(".txt")) {
    return agent::PromptTemplate::builtin(value);
  }
  return agent::PromptTemplate::from_file(value);
}

}  // namespace

CLI::Validator finite_in(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value) || value < low ||
            value > high) {
          return "Value " + text + " is not a number from " + CLI::detail::to_string(low) + " to " +
                 CLI::detail::to_string(high);
        }
        return "";
      },
      "NUMBER in [" + CLI::detail::to_string(low) + " - " + CLI::detail::to_string(high) + "]");
}

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// The endpoint comes from --base-url, else OPENAI_BASE_URL; with neither, an OPENAI_API_KEY alone
// means api.openai.com. Nothing at all is a configuration error the user must fix.
std::optional<std::string> missing_endpoint_message(const ModelSettings& s,
                                                    std::string_view command) {
  if (!s.weights.empty() || !s.base_url.empty() || env_or_null("OPENAI_BASE_URL") ||
      env_or_null("OPENAI_API_KEY")) {
    return std::nullopt;
  }
  return std::string(command) +
         ": no model endpoint is configured.\n"
         "  Set OPENAI_BASE_URL to an OpenAI-compatible server, e.g.\n"
         "    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1   # vLLM, llama-server, SGLang, "
         "Ollama, ...\n"
         "    export OPENAI_API_KEY=...                          # any value for a local server\n"
         "  or set only OPENAI_API_KEY to use api.openai.com, or pass --base-url URL.\n"
         "  Offline: `make run` trains a tiny controller that `mat run` then uses by itself.";
}

std::optional<ModelSettings> embedded_controller_settings(const ModelSettings& s) {
  if (!s.model.empty() || !s.weights.empty() || !s.base_url.empty() ||
      env_or_null("OPENAI_BASE_URL") || env_or_null("OPENAI_API_KEY")) {
    return std::nullopt;
  }
  std::error_code error;
  std::filesystem::path controller;
  if (const char* dir = env_or_null("MAT_CONTROLLER")) {
    controller = dir;
  } else {
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error) return std::nullopt;
    controller = exe.parent_path() / "controller";
  }
  if (!std::filesystem::exists(controller / "config.json", error)) return std::nullopt;
  ModelSettings embedded = s;
  embedded.weights = controller.string();
  embedded.dtype = "f32";  // it was trained in f32; at its size speed is no concern
  // The prompt and tools it was tuned with (the loop writes them beside the weights): a tiny
  // controller knows no other wording.
  // The search corpus it was tuned with, for its web_search, unless the user configured one: the
  // tools read their backend from the environment when they are built.
  const std::filesystem::path corpus = controller / kControllerSearchCorpus;
  if (!env_or_null("MAT_SEARCH_DB") && !env_or_null("MAT_SEARCH_BACKEND") &&
      std::filesystem::exists(corpus, error)) {
    setenv("MAT_SEARCH_DB", corpus.c_str(), 1);
  }
  const std::filesystem::path agent_file = controller / kControllerAgentFile;
  if (std::filesystem::exists(agent_file, error)) {
    const core::Json agent = core::read_json_file(agent_file);
    try {
      if (embedded.prompt_template.empty()) {
        embedded.prompt_template = agent.value("prompt_template", std::string());
      }
      if (embedded.tools.empty()) {
        embedded.tools = agent.value("tools", std::vector<std::string>());
      }
    } catch (const core::Json::exception& e) {
      throw core::Error("the embedded controller's " + agent_file.string() + " is malformed (" +
                        e.what() +
                        "): it should be {\"prompt_template\": NAME, \"tools\": [NAMES]}");
    }
  }
  return embedded;
}

agent::AgentOptions agent_options(const ModelSettings& s) {
  agent::AgentOptions options;
  options.max_steps = s.max_steps;
  options.max_consecutive_errors = s.max_errors;
  options.images.max_side = s.image_max_side;
  options.images.max_pixels = static_cast<std::uint64_t>(s.image_max_megapixels * 1e6);
  options.max_images_per_step = s.max_images_per_step;
  options.allowed_imports = s.authorized_imports;
  options.generation.temperature = s.temperature;
  options.generation.top_p = s.top_p;
  options.generation.max_tokens = s.max_tokens;
  options.generation.seed = s.seed;
  options.limits.step_wall = milliseconds(s.step_timeout_s);
  options.unsafe_no_sandbox = s.unsafe_no_sandbox;
  return options;
}

// The in-process engine on --weights (with --lora as its adapter).
std::shared_ptr<llm::ChatModel> local_model(const ModelSettings& s) {
  core::keep_freed_memory_for_reuse();  // each prefill reallocates the same large tensors
  std::shared_ptr<engine::LocalEngine> engine =
      engine::LocalEngine::load(s.weights, {.device = "cpu", .dtype = s.dtype, .threads = 0});
  if (s.lora.empty()) return std::make_shared<engine::LocalChatModel>(engine);
  engine->load_adapter("lora", s.lora);
  return std::make_shared<engine::LocalChatModel>(engine, "lora");
}

// The endpoint's model named by --model.
std::shared_ptr<llm::ChatModel> endpoint_model(const ModelSettings& s) {
  llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
  if (!s.base_url.empty()) config.base_url = s.base_url;
  config.model = s.model;
  config.stream = !s.no_stream;
  config.idle_timeout = milliseconds(s.idle_timeout_s);
  config.request_timeout = milliseconds(s.request_timeout_s);
  return std::make_shared<llm::OpenAIChatModel>(config);
}

ModelSetup make_model_setup(const ModelSettings& s) {
  if (s.model.empty() == s.weights.empty()) {
    throw core::Error(s.weights.empty()
                          ? "no model: name the endpoint's model with --model (or MAT_MODEL), or "
                            "run a local checkpoint with --weights DIR"
                          : "--model and --weights both given: use one (an endpoint's model, or "
                            "a local checkpoint)");
  }
  if (!s.lora.empty() && s.weights.empty()) {
    throw core::Error("--lora needs --weights (the base checkpoint the adapter was trained on)");
  }
  std::shared_ptr<llm::ChatModel> model = s.weights.empty() ? endpoint_model(s) : local_model(s);
  tools::ToolModels tool_models = make_tool_models(s.tool_models, model);
  tools::ToolRegistry registry = tools::builtin_registry_of(s.tools, tool_models);
  return {model, std::move(tool_models), std::move(registry), prompt_template(s.prompt_template)};
}

void add_model_options(CLI::App& cmd, ModelSettings& s) {
  cmd.add_option("-m,--model", s.model, "Model name at the endpoint (or --weights)")
      ->envname("MAT_MODEL");
  cmd.add_option("--weights", s.weights,
                 "Run a local Qwen2-VL checkpoint (Hugging Face folder) in process instead of "
                 "an endpoint")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--lora", s.lora, "A PEFT LoRA adapter folder for --weights")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--dtype", s.dtype, "The local engine's precision")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "f32", "f16"}));
  cmd.add_option("--base-url", s.base_url,
                 "OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)");
  cmd.add_option("--prompt-template", s.prompt_template,
                 "A prompt template file, or a built-in version (t3-v2, the default; t3-v1; "
                 "t3-tiny and t3-micro, the short wordings of tiny controllers)");
  cmd.add_option("--tools", s.tools,
                 "The tools offered to the model, comma-separated (final_answer is always there; "
                 "default: every one that works here). Fewer tools, a shorter prompt")
      ->delimiter(',');
  cmd.add_option("--authorized-imports", s.authorized_imports,
                 "Modules the model's code may import (default: the built-in list; a guard-rail, "
                 "not the security boundary)")
      ->delimiter(',');
  cmd.add_option("--max-steps", s.max_steps, "Steps before the run is cut off")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd.add_option("--max-errors", s.max_errors, "Consecutive failed steps before the run is cut off")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd.add_option("--temperature", s.temperature, "Sampling temperature")
      ->check(finite_in(0.0, 2.0));
  cmd.add_option("--top-p", s.top_p, "Nucleus sampling mass")->check(finite_in(0.0, 1.0));
  cmd.add_option("--max-tokens", s.max_tokens, "Tokens per model reply")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  cmd.add_option("--seed", s.seed, "Sampling seed (where the server supports it)");
  cmd.add_option("--image-max-side", s.image_max_side, "Downscale images larger than this (pixels)")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  cmd.add_option("--image-max-megapixels", s.image_max_megapixels,
                 "Refuse images larger than this before decoding them")
      ->capture_default_str()
      ->check(finite_in(0.01, 1000.0));
  cmd.add_option("--max-images-per-step", s.max_images_per_step,
                 "Images saved by one step that are shown to the model")
      ->capture_default_str()
      ->check(CLI::Range(0, 32));
  cmd.add_option("--step-timeout", s.step_timeout_s,
                 "Wall-clock seconds per code step, tools included")
      ->capture_default_str()
      ->check(finite_in(0.1, 86400.0));
  cmd.add_option("--idle-timeout", s.idle_timeout_s,
                 "Seconds a streamed reply may go without a byte before it is retried")
      ->capture_default_str()
      ->check(finite_in(1.0, 3600.0));
  cmd.add_option("--request-timeout", s.request_timeout_s,
                 "Seconds a whole reply may take with --no-stream")
      ->capture_default_str()
      ->check(finite_in(1.0, 86400.0));
  cmd.add_option("--tool-model", s.tool_models.model,
                 "The model the tools ask (visualizer, objectlocation, questions about "
                 "documents); default: the run's model")
      ->envname("MAT_TOOL_MODEL");
  cmd.add_option("--tool-base-url", s.tool_models.base_url,
                 "The endpoint of --tool-model (default: $OPENAI_BASE_URL)")
      ->envname("MAT_TOOL_BASE_URL");
  cmd.add_flag("--no-stream", s.no_stream, "Wait for whole replies instead of streaming");
  cmd.add_flag("--unsafe-no-sandbox", s.unsafe_no_sandbox,
               "Run model code without isolation (only where bubblewrap cannot work)");
}

}  // namespace mat::cli

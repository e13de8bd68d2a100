#include "run_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "mat/agent/agent.h"
#include "mat/core/interrupt.h"
#include "mat/core/json.h"
#include "mat/llm/openai_client.h"
#include "record_checkpoint.h"
#include "run_paths.h"
#include "terminal_observer.h"
#include "tool_models_setup.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;

struct RunSettings {
  std::string task;
  std::vector<std::string> files;
  std::string model;
  std::string base_url;
  std::string out;
  std::string run_dir;
  std::string work_dir;
  bool reuse_work_dir = false;
  std::string prompt_template;
  std::vector<std::string> authorized_imports;
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
  bool quiet = false;
  bool unsafe_no_sandbox = false;
  ToolModelSettings tool_models;
};

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// The endpoint comes from --base-url, else OPENAI_BASE_URL; with neither, an OPENAI_API_KEY alone
// means api.openai.com. Nothing at all is a configuration error the user must fix.
std::optional<std::string> missing_endpoint_message(const RunSettings& s) {
  if (!s.base_url.empty() || env_or_null("OPENAI_BASE_URL") || env_or_null("OPENAI_API_KEY")) {
    return std::nullopt;
  }
  return "mat run: no model endpoint is configured.\n"
         "  Set OPENAI_BASE_URL to an OpenAI-compatible server, e.g.\n"
         "    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1   # vLLM, llama-server, SGLang, "
         "Ollama, ...\n"
         "    export OPENAI_API_KEY=...                          # any value for a local server\n"
         "  or set only OPENAI_API_KEY to use api.openai.com, or pass --base-url URL.";
}

// CLI::Range lets NaN through (every comparison with it is false): this one does not.
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

agent::AgentOptions agent_options(const RunSettings& s) {
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

// "2 steps · 3.4 s · tokens 1200 in, 80 out · final_answer"
std::string summary(const agent::Trajectory& t) {
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  for (const agent::Step& step : t.steps) {
    tokens_in += step.tokens_in;
    tokens_out += step.tokens_out;
  }
  if (t.best_answer_request) {
    tokens_in += t.best_answer_request->tokens_in;
    tokens_out += t.best_answer_request->tokens_out;
  }
  char text[160];
  std::snprintf(text, sizeof(text), "%zu step%s · %.1f s · tokens %lld in, %lld out · %s",
                t.steps.size(), t.steps.size() == 1 ? "" : "s", t.wall_ms / 1000.0,
                static_cast<long long>(tokens_in), static_cast<long long>(tokens_out),
                t.end_reason.c_str());
  return text;
}

// A usage or configuration problem: said on stderr, exit 2, before anything runs.
int usage_error(const std::string& message) {
  std::cerr << "mat run: " << message << "\n";
  return 2;
}

int run(const RunSettings& s) {
  if (auto message = missing_endpoint_message(s)) {
    std::cerr << *message << "\n";
    return 2;
  }
  llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
  if (!s.base_url.empty()) config.base_url = s.base_url;
  config.model = s.model;
  config.stream = !s.no_stream;
  config.idle_timeout = milliseconds(s.idle_timeout_s);
  config.request_timeout = milliseconds(s.request_timeout_s);
  std::shared_ptr<llm::OpenAIChatModel> model;
  std::optional<agent::PromptTemplate> prompt;
  tools::ToolModels tool_models;
  try {
    model = std::make_shared<llm::OpenAIChatModel>(config);
    tool_models = make_tool_models(s.tool_models, model);
    prompt = s.prompt_template.empty() ? agent::PromptTemplate::builtin()
                                       : agent::PromptTemplate::from_file(s.prompt_template);
  } catch (const core::Error& e) {
    return usage_error(e.what());
  }

  agent::Task task;
  task.id = agent::make_run_id();
  task.text = s.task;
  for (const std::string& file : s.files) task.files.emplace_back(file);
  const fs::path run_dir = s.run_dir.empty() ? fs::path("mat-runs") / task.id : fs::path(s.run_dir);
  agent::RunPaths paths = agent::RunPaths::under(run_dir);
  if (!s.work_dir.empty()) paths.work_dir = s.work_dir;
  const fs::path out = s.out.empty() ? run_dir / "trajectory.json" : fs::path(s.out);
  if (auto problem = unusable_work_dir(paths.work_dir, s.reuse_work_dir)) {
    return usage_error(*problem);
  }
  if (auto problem = bad_record_path(out, paths.work_dir)) return usage_error(*problem);
  if (is_inside(run_dir, paths.work_dir)) {
    return usage_error("the run dir '" + run_dir.string() + "' is inside the work dir '" +
                       paths.work_dir.string() +
                       "', where the model's code could change what the host keeps: use "
                       "separate folders");
  }
  try {
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
  } catch (const std::exception& e) {
    return usage_error("cannot create the folder for --out '" + out.string() + "': " + e.what());
  }

  core::install_interrupt_handlers();
  const tools::ToolRegistry registry = tools::builtin_registry(tool_models);
  agent::Agent agent(*model, registry, std::move(*prompt), agent_options(s));
  TerminalObserver terminal(stdout, ::isatty(STDOUT_FILENO) != 0);
  RecordCheckpoint checkpoint(out, s.quiet ? nullptr : &terminal);
  const agent::Trajectory t = agent.run(task, paths, &checkpoint);
  try {
    core::write_json_file(out, t.to_json());
  } catch (const std::exception& e) {
    std::cerr << "mat run: " << e.what() << "\n" << t.to_json().dump(2) << "\n";
    return 1;
  }
  if (t.error) std::cerr << "mat run: " << t.end_reason << ": " << printable(*t.error) << "\n";
  std::cerr << summary(t) << " · trajectory: " << out.string() << "\n";
  if (t.final_answer) {
    std::cout << "Final answer: " << printable(*t.final_answer) << std::endl;
  }
  if (t.end_reason == agent::end_reason::kInterrupted) return 128 + core::interrupt_signal();
  return t.succeeded() ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto settings = std::make_shared<RunSettings>();
  CLI::App* cmd = app.add_subcommand("run", "Run the agent on one task and write its trajectory");
  cmd->add_option("task", settings->task, "The task, in words")->required();
  cmd->add_option("-f,--file", settings->files, "A file the task needs (repeatable)");
  cmd->add_option("-m,--model", settings->model, "Model name at the endpoint")
      ->envname("MAT_MODEL")
      ->required();
  cmd->add_option("--base-url", settings->base_url,
                  "OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)");
  cmd->add_option("-o,--out", settings->out,
                  "Where to write the trajectory record (default: RUNDIR/trajectory.json)");
  cmd->add_option("--run-dir", settings->run_dir,
                  "The run's folder: its record, the images shown to the model, and work/ "
                  "(default: mat-runs/RUN_ID)");
  cmd->add_option("--workdir", settings->work_dir,
                  "The model code's working directory, its only writable place "
                  "(default: RUNDIR/work)");
  cmd->add_flag("--reuse-workdir", settings->reuse_work_dir,
                "Allow a --workdir that is not empty; its files stay read-only for the code");
  cmd->add_option("--prompt-template", settings->prompt_template,
                  "A prompt template file to use instead of the built-in t3-v2");
  cmd->add_option("--authorized-imports", settings->authorized_imports,
                  "Modules the model's code may import (default: the built-in list; a guard-rail, "
                  "not the security boundary)")
      ->delimiter(',');
  cmd->add_option("--max-steps", settings->max_steps, "Steps before the run is cut off")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-errors", settings->max_errors,
                  "Consecutive failed steps before the run is cut off")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--temperature", settings->temperature, "Sampling temperature")
      ->check(finite_in(0.0, 2.0));
  cmd->add_option("--top-p", settings->top_p, "Nucleus sampling mass")->check(finite_in(0.0, 1.0));
  cmd->add_option("--max-tokens", settings->max_tokens, "Tokens per model reply")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--seed", settings->seed, "Sampling seed (where the server supports it)");
  cmd->add_option("--image-max-side", settings->image_max_side,
                  "Downscale images larger than this (pixels)")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  cmd->add_option("--image-max-megapixels", settings->image_max_megapixels,
                  "Refuse images larger than this before decoding them")
      ->capture_default_str()
      ->check(finite_in(0.01, 1000.0));
  cmd->add_option("--max-images-per-step", settings->max_images_per_step,
                  "Images saved by one step that are shown to the model")
      ->capture_default_str()
      ->check(CLI::Range(0, 32));
  cmd->add_option("--step-timeout", settings->step_timeout_s,
                  "Wall-clock seconds per code step, tools included")
      ->capture_default_str()
      ->check(finite_in(0.1, 86400.0));
  cmd->add_option("--idle-timeout", settings->idle_timeout_s,
                  "Seconds a streamed reply may go without a byte before it is retried")
      ->capture_default_str()
      ->check(finite_in(1.0, 3600.0));
  cmd->add_option("--request-timeout", settings->request_timeout_s,
                  "Seconds a whole reply may take with --no-stream")
      ->capture_default_str()
      ->check(finite_in(1.0, 86400.0));
  cmd->add_option("--tool-model", settings->tool_models.model,
                  "The model the tools ask (visualizer, objectlocation, questions about "
                  "documents); default: the run's model")
      ->envname("MAT_TOOL_MODEL");
  cmd->add_option("--tool-base-url", settings->tool_models.base_url,
                  "The endpoint of --tool-model (default: $OPENAI_BASE_URL)")
      ->envname("MAT_TOOL_BASE_URL");
  cmd->add_flag("--no-stream", settings->no_stream, "Wait for whole replies instead of streaming");
  cmd->add_flag("-q,--quiet", settings->quiet, "Print only the final answer");
  cmd->add_flag("--unsafe-no-sandbox", settings->unsafe_no_sandbox,
                "Run model code without isolation (only where bubblewrap cannot work)");
  cmd->callback([settings, &exit_code] { exit_code = run(*settings); });
}

}  // namespace mat::cli

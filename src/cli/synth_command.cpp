#include "synth_command.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/agent/prompt.h"
#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/core/json.h"
#include "mat/sandbox/sandbox.h"
#include "mat/synth/export.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/store.h"
#include "mat/synth/teacher.h"
#include "mat/tools/registry.h"
#include "model_setup.h"
#include "tool_models_setup.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;
using core::Json;

struct InitSettings {
  std::string run;
  synth::RunConfig config;
};

struct RunSettings {
  std::string run;
  std::int64_t tasks = 0;
  int concurrency = 4;
  std::string stage;
  bool quiet = false;
};

struct StatusSettings {
  std::string run;
  bool json = false;
};

struct ExportSettings {
  std::string run;
  std::string format;
  std::string out;
};

int init(const InitSettings& s) {
  synth::init_run(s.run, s.config);
  std::cout << "synth run created in " << s.run << " (teacher " << s.config.teacher_model
            << "); next: mat synth run " << s.run << " --tasks N\n";
  return 0;
}

// The agent's models and tools, one set per worker: nothing is shared between parallel runs.
class AgentPool {
 public:
  AgentPool(const llm::OpenAIConfig& teacher, const ModelSettings& settings, int size)
      : options_(agent_options(settings)) {
    for (int i = 0; i < size; ++i) {
      auto worker = std::make_unique<Worker>();
      // The tools that ask a model ask the teacher, with the trajectory stage's header.
      worker->tool_models = make_tool_models(ToolModelSettings::from_env(),
                                             synth::make_stage_model(teacher, "trajectory"));
      worker->registry = tools::builtin_registry(worker->tool_models);
      free_.push_back(worker.get());
      workers_.push_back(std::move(worker));
    }
  }

  agent::Trajectory run(llm::ChatModel& model, const agent::Task& task,
                        const agent::RunPaths& paths) {
    Worker* worker = nullptr;
    {
      std::unique_lock lock(mutex_);
      available_.wait(lock, [&] { return !free_.empty(); });
      worker = free_.back();
      free_.pop_back();
    }
    agent::Agent agent(model, worker->registry, prompt_, options_);
    agent::Trajectory record = agent.run(task, paths);
    {
      std::lock_guard lock(mutex_);
      free_.push_back(worker);
    }
    available_.notify_one();
    return record;
  }

  std::vector<std::string> tool_names() const { return workers_.front()->registry.names(); }
  std::string system_prompt() const {
    const auto& imports = options_.allowed_imports.empty() ? sandbox::default_allowed_imports()
                                                           : options_.allowed_imports;
    return agent::render_system_prompt(prompt_, workers_.front()->registry, imports);
  }
  const agent::PromptTemplate& prompt() const { return prompt_; }

 private:
  struct Worker {
    tools::ToolModels tool_models;
    tools::ToolRegistry registry;
  };
  agent::PromptTemplate prompt_ = agent::PromptTemplate::builtin();
  agent::AgentOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Worker*> free_;
  std::mutex mutex_;
  std::condition_variable available_;
};

int run(const RunSettings& s) {
  const synth::RunConfig config = synth::load_run_config(s.run);
  ModelSettings settings;
  settings.model = config.teacher_model;
  settings.base_url = config.teacher_base_url;
  settings.max_steps = config.max_steps;
  settings.max_errors = config.max_errors;
  if (auto message = missing_endpoint_message(settings, "mat synth run")) {
    std::cerr << *message << "\n";
    return 2;
  }
  llm::OpenAIConfig teacher = llm::OpenAIConfig::from_env();
  if (!config.teacher_base_url.empty()) teacher.base_url = config.teacher_base_url;
  teacher.model = config.teacher_model;

  AgentPool pool(teacher, settings, std::max(1, s.concurrency));
  std::mutex models_mutex;
  std::map<std::string, std::shared_ptr<llm::ChatModel>> models;
  synth::PipelineDeps deps;
  deps.models = [&](const std::string& stage) {
    std::lock_guard lock(models_mutex);
    auto& model = models[stage];
    if (!model) model = synth::make_stage_model(teacher, stage);
    return model;
  };
  deps.run_agent = [&pool](llm::ChatModel& model, const agent::Task& task,
                           const agent::RunPaths& paths) { return pool.run(model, task, paths); };
  deps.tools = pool.tool_names();
  deps.agent_prompt_version = pool.prompt().version;
  deps.agent_system_prompt = pool.system_prompt();

  synth::Store store(s.run);
  synth::RunOptions options;
  options.tasks = s.tasks;
  options.concurrency = s.concurrency;
  if (!s.stage.empty()) options.only_stage = s.stage;
  if (!s.quiet) options.on_recorded = [](const std::string& line) { std::cerr << line << "\n"; };
  core::install_interrupt_handlers();
  const synth::RunSummary summary = synth::run_pipeline(s.run, config, store, deps, options);
  std::cout << "synth run " << s.run << ": " << summary.batches << " query batch(es), "
            << summary.tasks_added << " task(s) added, " << summary.units
            << " stage result(s) recorded\n";
  if (summary.stopped)
    std::cerr << "mat synth run: query making stopped: " << *summary.stopped << "\n";
  if (summary.deferred > 0) {
    std::cerr << "mat synth run: " << summary.deferred
              << " unit(s) were left for a later run because the teacher failed (last: "
              << summary.last_deferral << "); check the endpoint and run the same command again\n";
  }
  if (summary.interrupted) {
    std::cerr << "mat synth run: interrupted; run the same command again to go on\n";
    return 128 + (core::interrupt_signal() != 0 ? core::interrupt_signal() : 2);
  }
  return summary.deferred > 0 || summary.stopped ? 1 : 0;
}

Json status_json(synth::Store& store) {
  const synth::StoreCounts counts = store.counts();
  Json stages = Json::object();
  for (const std::string& name : synth::task_stages()) {
    Json row = Json::object();
    const auto it = counts.stages.find(name);
    std::int64_t total = 0, passed = 0;
    if (it != counts.stages.end()) {
      for (const auto& [status, n] : it->second) {
        row[status] = n;
        total += n;
        if (status != synth::status::kRejected && status != synth::status::kFailed) passed += n;
      }
    }
    row["total"] = total;
    row["pass_rate"] = total == 0 ? Json() : Json(static_cast<double>(passed) / total);
    Json reasons = Json::array();
    for (const auto& [reason, n] : store.top_reasons(name, 3)) {
      reasons.push_back({{"reason", reason}, {"count", n}});
    }
    row["top_reasons"] = reasons;
    stages[name] = row;
  }
  std::int64_t accepted = 0;
  for (const synth::TaskRow& row : store.tasks(counts.tasks)) {
    accepted += synth::is_accepted(store, row.id) ? 1 : 0;
  }
  return {{"tasks", counts.tasks},
          {"batches", counts.batches},
          {"stages", stages},
          {"accepted", accepted},
          {"teacher_calls", counts.calls},
          {"tokens_in", counts.tokens_in},
          {"tokens_out", counts.tokens_out}};
}

int status(const StatusSettings& s) {
  synth::load_run_config(s.run);
  synth::Store store(s.run);
  const Json json = status_json(store);
  if (s.json) {
    std::cout << json.dump(2) << "\n";
    return 0;
  }
  std::cout << "tasks: " << json["tasks"].get<std::int64_t>() << " (query batches:";
  if (json["batches"].empty()) std::cout << " none yet";
  for (const auto& [status, n] : json["batches"].items()) std::cout << " " << status << " " << n;
  std::cout << ")\n";
  for (const auto& [name, row] : json["stages"].items()) {
    std::cout << "  " << name << ":";
    for (const auto& [key, value] : row.items()) {
      if (key == "top_reasons" || key == "pass_rate" || key == "total") continue;
      std::cout << " " << key << " " << value;
    }
    if (!row["pass_rate"].is_null()) {
      char rate[32];
      std::snprintf(rate, sizeof(rate), "%.1f%%", 100 * row["pass_rate"].get<double>());
      std::cout << " (pass " << rate << ")";
    }
    std::cout << "\n";
    for (const Json& reason : row["top_reasons"]) {
      std::cout << "      " << reason["count"] << "× " << reason["reason"].get<std::string>()
                << "\n";
    }
  }
  std::cout << "accepted for export: " << json["accepted"] << "\n"
            << "teacher calls: " << json["teacher_calls"] << ", tokens in " << json["tokens_in"]
            << ", out " << json["tokens_out"] << "\n";
  return 0;
}

int export_command(const ExportSettings& s) {
  synth::load_run_config(s.run);
  synth::Store store(s.run);
  const synth::ExportSummary summary = synth::export_run(s.run, store, s.format, s.out);
  std::cout << summary.exported << " accepted trajectory(ies) exported as " << s.format << " to "
            << s.out << "\n";
  return 0;
}

// Runs `body`, turning a core::Error into its message and exit code 1.
template <typename F>
int guarded(const char* command, F&& body) {
  try {
    return body();
  } catch (const core::Error& e) {
    std::cerr << command << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_synth_command(CLI::App& app, int& exit_code) {
  CLI::App* synth = app.add_subcommand(
      "synth", "Synthesise verified multimodal tool-use trajectories with a teacher model");
  synth->require_subcommand(1);

  auto init_settings = std::make_shared<InitSettings>();
  CLI::App* init_cmd = synth->add_subcommand("init", "Create a synth run folder");
  init_cmd->add_option("run", init_settings->run, "The run folder (RUN/)")->required();
  init_cmd
      ->add_option("--teacher", init_settings->config.teacher_model,
                   "The teacher model's name at the endpoint")
      ->required();
  init_cmd->add_option("--base-url", init_settings->config.teacher_base_url,
                       "The teacher's OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)");
  init_cmd->add_option("--seed", init_settings->config.seed, "Seed of the example draws");
  init_cmd
      ->add_option("--queries-per-batch", init_settings->config.queries_per_batch,
                   "Queries asked for per teacher request")
      ->check(CLI::Range(1, 100));
  init_cmd
      ->add_option("--max-parse-attempts", init_settings->config.max_parse_attempts,
                   "Teacher attempts per JSON reply, the first included")
      ->check(CLI::Range(1, 20));
  init_cmd->add_option("--max-steps", init_settings->config.max_steps, "Agent steps per task")
      ->check(CLI::Range(1, 100));
  init_cmd->callback([init_settings, &exit_code] {
    exit_code = guarded("mat synth init", [&] { return init(*init_settings); });
  });

  auto run_settings = std::make_shared<RunSettings>();
  CLI::App* run_cmd = synth->add_subcommand("run", "Run (or resume) a synth run");
  run_cmd->add_option("run", run_settings->run, "The run folder (RUN/)")->required();
  run_cmd->add_option("--tasks", run_settings->tasks, "How many tasks the run should hold")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}));
  run_cmd->add_option("--concurrency", run_settings->concurrency, "Teacher calls in flight")
      ->check(CLI::Range(1, 1024));
  run_cmd->add_option("--stage", run_settings->stage, "Run only this stage")
      ->check(CLI::IsMember(synth::all_stages()));
  run_cmd->add_flag("-q,--quiet", run_settings->quiet, "No line per recorded unit");
  run_cmd->callback([run_settings, &exit_code] {
    exit_code = guarded("mat synth run", [&] { return run(*run_settings); });
  });

  auto status_settings = std::make_shared<StatusSettings>();
  CLI::App* status_cmd = synth->add_subcommand("status", "Counts per stage and verdict");
  status_cmd->add_option("run", status_settings->run, "The run folder (RUN/)")->required();
  status_cmd->add_flag("--json", status_settings->json, "Print one JSON object");
  status_cmd->callback([status_settings, &exit_code] {
    exit_code = guarded("mat synth status", [&] { return status(*status_settings); });
  });

  auto export_settings = std::make_shared<ExportSettings>();
  CLI::App* export_cmd = synth->add_subcommand("export", "Write the accepted trajectories");
  export_cmd->add_option("run", export_settings->run, "The run folder (RUN/)")->required();
  export_cmd->add_option("--format", export_settings->format, "mat or llamafactory")
      ->required()
      ->check(CLI::IsMember(synth::export_formats()));
  export_cmd->add_option("--out", export_settings->out, "The folder to write")->required();
  export_cmd->callback([export_settings, &exit_code] {
    exit_code = guarded("mat synth export", [&] { return export_command(*export_settings); });
  });
}

}  // namespace mat::cli

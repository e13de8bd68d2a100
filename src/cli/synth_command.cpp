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
#include "mat/llm/openai_embedder.h"
#include "mat/sandbox/sandbox.h"
#include "mat/synth/export.h"
#include "mat/synth/merge.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/progress.h"
#include "mat/synth/replay.h"
#include "mat/synth/store.h"
#include "mat/synth/teacher.h"
#include "mat/tools/registry.h"
#include "model_setup.h"
#include "synth_progress_display.h"
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
  double rpm = 0;
  double tpm = 0;
  std::optional<double> budget_usd;
  std::string shard;
  std::string replay;  // a run whose recorded replies answer instead of the teacher
};

struct MergeSettings {
  std::string run;
  std::vector<std::string> shards;
};

struct StatusSettings {
  std::string run;
  bool json = false;
};

struct ExportSettings {
  std::string run;
  std::string format;
  std::string out;
  bool include_rejected = false;
};

// The run's embedder (at its own endpoint, else the teacher's), or none when it names no model.
std::shared_ptr<llm::Embedder> make_embedder(const synth::RunConfig& config) {
  if (config.embedder_model.empty()) return nullptr;
  llm::OpenAIConfig endpoint = llm::OpenAIConfig::from_env();
  const std::string& base_url =
      config.embedder_base_url.empty() ? config.teacher_base_url : config.embedder_base_url;
  if (!base_url.empty()) endpoint.base_url = base_url;
  endpoint.model = config.embedder_model;
  return std::make_shared<llm::OpenAIEmbedder>(endpoint);
}

int init(const InitSettings& s) {
  agent::PromptTemplate::builtin(s.config.agent_prompt);  // an unknown version fails now
  const std::shared_ptr<llm::Embedder> embedder = make_embedder(s.config);
  synth::init_run(s.run, s.config, embedder.get(), [](size_t done, size_t total) {
    std::cerr << "\rimage pool: " << done << " of " << total << " captions embedded"
              << (done == total ? "\n" : "") << std::flush;
  });
  std::cout << "synth run created in " << s.run << " (teacher " << s.config.teacher_model
            << "); next: mat synth run " << s.run << " --tasks N\n";
  return 0;
}

// The agent's models and tools, one set per worker: nothing is shared between parallel runs.
class AgentPool {
 public:
  AgentPool(const llm::OpenAIConfig& teacher, const ModelSettings& settings,
            const std::string& prompt_version, int size)
      : prompt_(agent::PromptTemplate::builtin(prompt_version)), options_(agent_options(settings)) {
    for (int i = 0; i < size; ++i) {
      auto worker = std::make_unique<Worker>();
      // The tools that ask a model ask the teacher, with the trajectory stage's header.
      worker->tool_models = make_tool_models(ToolModelSettings::from_env(),
                                             synth::make_stage_model(teacher, "trajectory"));
      worker->registry = tools::builtin_registry_of(settings.tools, worker->tool_models);
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
  agent::PromptTemplate prompt_;
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
  settings.tools = config.agent_tools;
  const auto missing = missing_endpoint_message(settings, "mat synth run");
  if (missing && s.replay.empty()) {  // replay asks no endpoint
    std::cerr << *missing << "\n";
    return 2;
  }
  llm::OpenAIConfig teacher = llm::OpenAIConfig::from_env();
  if (!config.teacher_base_url.empty()) teacher.base_url = config.teacher_base_url;
  teacher.model = config.teacher_model;

  AgentPool pool(teacher, settings, config.agent_prompt, std::max(1, s.concurrency));
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
  deps.embedder = make_embedder(config);

  std::unique_ptr<synth::Store> recorded;
  if (!s.replay.empty()) {
    synth::load_run_config(s.replay);
    recorded = std::make_unique<synth::Store>(s.replay);
    deps.models = [&recorded, &config](const std::string& stage) {
      return synth::replay_model(*recorded, stage, config.teacher_model);
    };
  }

  synth::Store store(s.run);
  if (deps.embedder) {  // its vectors kept for replay, or given back from the recorded run
    deps.embedder = recorded ? synth::replay_embedder(*recorded, deps.embedder->model_name())
                             : synth::recording_embedder(deps.embedder, store);
  }
  synth::Limits limits;
  limits.requests_per_minute = s.rpm;
  limits.tokens_per_minute = s.tpm;
  limits.budget_usd = s.budget_usd;
  // Replayed replies cost nothing: the run that recorded them paid.
  if (!recorded) limits.price = synth::price_of(config.prices, config.teacher_model);
  store.set_price(limits.price);
  synth::CallLimiter limiter(limits, store.cost_usd());
  synth::RunOptions options;
  options.tasks = s.tasks;
  options.concurrency = s.concurrency;
  options.limiter = &limiter;
  if (!s.shard.empty()) options.shard = synth::parse_shard(s.shard);
  if (!s.stage.empty()) options.only_stage = s.stage;
  core::install_interrupt_handlers();
  synth::RunSummary summary;
  {
    SynthProgressDisplay display(s.run, limiter, s.tasks, s.quiet);
    options.on_recorded = [&display](const std::string& line) { display.line(line); };
    summary = synth::run_pipeline(s.run, config, store, deps, options);
  }
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
  if (summary.budget_reached) {
    std::fprintf(stderr,
                 "mat synth run: stopped: the budget of $%.2f is spent ($%.4f); the work "
                 "finished is kept: raise --budget-usd and run again to go on\n",
                 *s.budget_usd, limiter.spent_usd());
    return 1;
  }
  if (summary.interrupted) {
    std::cerr << "mat synth run: interrupted; run the same command again to go on\n";
    return 128 + (core::interrupt_signal() != 0 ? core::interrupt_signal() : 2);
  }
  return summary.deferred > 0 || summary.stopped ? 1 : 0;
}

int status(const StatusSettings& s) {
  synth::load_run_config(s.run);
  synth::Store store(s.run);
  const synth::Progress progress =
      synth::read_progress(s.run, store, std::chrono::seconds(300), nullptr);
  if (s.json) {
    core::Json json = synth::progress_json(progress);
    json["near_duplicates"] = progress.counts.near_duplicates;
    std::cout << json.dump(2) << "\n";
    return 0;
  }
  std::cout << (progress.running ? "running\n" : "") << synth::progress_text(progress)
            << "near-duplicate queries dropped: " << progress.counts.near_duplicates
            << "\naccepted for export: " << progress.accepted << "\n";
  return 0;
}

int merge(const MergeSettings& s) {
  std::vector<fs::path> shards(s.shards.begin(), s.shards.end());
  const synth::MergeSummary summary = synth::merge_runs(s.run, shards);
  std::cout << summary.shards << " shard(s) merged into " << s.run << ", which holds "
            << summary.tasks << " task(s); export it, or run it to go on\n";
  return 0;
}

int export_command(const ExportSettings& s) {
  synth::load_run_config(s.run);
  synth::Store store(s.run);
  const synth::ExportSummary summary =
      synth::export_run(s.run, store, s.format, s.out, s.include_rejected);
  std::cout << summary.exported << " trajectory(ies) exported as " << s.format << " to " << s.out
            << " (" << summary.exported - summary.rejected << " accepted by both verifiers, "
            << summary.rejected << " rejected by one)\n";
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
  init_cmd
      ->add_option(
          "--agent-prompt", init_settings->config.agent_prompt,
          "The built-in prompt version the teacher runs as the agent with (t3-v2; t3-tiny or "
          "t3-micro, the short wordings for tiny controllers)")
      ->capture_default_str();
  init_cmd
      ->add_option("--agent-tools", init_settings->config.agent_tools,
                   "The tools the agent is offered, comma-separated (final_answer is always "
                   "there; default: every one that works); the queries stage sees the same list")
      ->delimiter(',');
  init_cmd->add_option("--max-steps", init_settings->config.max_steps, "Agent steps per task")
      ->check(CLI::Range(1, 100));
  init_cmd->add_option("--embedder", init_settings->config.embedder_model,
                       "The embedding model (query de-duplication, the image pool)");
  init_cmd->add_option("--embedder-base-url", init_settings->config.embedder_base_url,
                       "The embedder's OpenAI-compatible endpoint (default: the teacher's)");
  init_cmd
      ->add_option("--dedupe-similarity", init_settings->config.dedupe_similarity,
                   "Cosine similarity from which two queries are near-duplicates")
      ->check(CLI::Range(0.0, 1.0));
  init_cmd->add_option(
      "--images", init_settings->config.images,
      "The image pool: a folder of images with a captions file (needs --embedder)");
  init_cmd->add_option("--captions", init_settings->config.captions,
                       "The pool's captions, one {\"image\", \"caption\"} per line "
                       "(default: IMAGES/captions.jsonl)");
  init_cmd->add_flag(
      "!--keep-rejected", init_settings->config.verifiers_stop_tasks,
      "Run every stage of a task a verifier rejected too (verdicts recorded, export unchanged): "
      "the data of the ablation without verifiers, from the same run");
  init_cmd
      ->add_option("--file-code-timeout", init_settings->config.file_code_timeout_s,
                   "Seconds a file-making script may run in the sandbox")
      ->check(CLI::Range(1, 3600));
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
  run_cmd->add_flag("-q,--quiet", run_settings->quiet, "No progress and no line per unit");
  run_cmd->add_option("--rpm", run_settings->rpm, "Teacher requests per minute at most")
      ->check(CLI::NonNegativeNumber);
  run_cmd
      ->add_option("--tpm", run_settings->tpm,
                   "Teacher tokens per minute at most (as the server reports them)")
      ->check(CLI::NonNegativeNumber);
  run_cmd
      ->add_option("--budget-usd", run_settings->budget_usd,
                   "Stop once the run's calls cost this much (prices in config.json)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--shard", run_settings->shard,
                      "Run shard i of n (i/n): a fixed slice of the batches and their tasks");
  run_cmd->add_option("--replay", run_settings->replay,
                      "Answer teacher requests from this run's recorded replies (no endpoint)");
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

  auto merge_settings = std::make_shared<MergeSettings>();
  CLI::App* merge_cmd = synth->add_subcommand("merge", "Combine shard runs (--shard) into one run");
  merge_cmd->add_option("run", merge_settings->run, "The run folder to merge into (RUN/)")
      ->required();
  merge_cmd->add_option("shards", merge_settings->shards, "The shard run folders")->required();
  merge_cmd->callback([merge_settings, &exit_code] {
    exit_code = guarded("mat synth merge", [&] { return merge(*merge_settings); });
  });

  auto export_settings = std::make_shared<ExportSettings>();
  CLI::App* export_cmd = synth->add_subcommand("export", "Write the accepted trajectories");
  export_cmd->add_option("run", export_settings->run, "The run folder (RUN/)")->required();
  export_cmd->add_option("--format", export_settings->format, "mat, llamafactory or swift")
      ->required()
      ->check(CLI::IsMember(synth::export_formats()));
  export_cmd->add_option("--out", export_settings->out, "The folder to write")->required();
  export_cmd->add_flag("--include-rejected", export_settings->include_rejected,
                       "Also every task a verifier rejected whose trajectory ended with "
                       "final_answer: the ablation without verifiers (needs a run made with "
                       "init --keep-rejected)");
  export_cmd->callback([export_settings, &exit_code] {
    exit_code = guarded("mat synth export", [&] { return export_command(*export_settings); });
  });
}

}  // namespace mat::cli

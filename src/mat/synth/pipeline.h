// A `mat synth` run: its configuration (RUN/config.json), and the stages that turn the teacher
// into verified trajectories. Query batches are made until the run holds the tasks asked for;
// each task then moves through verify_files, trajectory and verify_trajectory as soon as the
// previous stage is done (no stage-wide barrier), on `concurrency` worker threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/core/json.h"
#include "mat/synth/store.h"
#include "mat/synth/teacher.h"

namespace mat::synth {

inline constexpr const char* kConfigFile = "config.json";

struct RunConfig {
  std::string teacher_model;
  std::string teacher_base_url;  // empty: OPENAI_BASE_URL or the OpenAI default
  std::uint64_t seed = 0;
  int queries_per_batch = 8;
  int examples_per_batch = 4;
  int max_parse_attempts = 3;  // teacher attempts per JSON reply, the first included
  int max_steps = 8;           // agent steps in the trajectory stage
  int max_errors = 3;          // consecutive agent errors (the paper: 3 when generating data)
  std::string queries_prompt = "queries-v1";
  std::string verify_files_prompt = "verify_files-v1";
  std::string verify_trajectory_prompt = "verify_trajectory-v1";
  std::string seeds = "seeds-v1";

  core::Json to_json() const;
  // Throws core::Error naming the field that is missing or mistyped.
  static RunConfig from_json(const core::Json& json);
};

// The stages of a task, in order, after the run's `queries` batches.
const std::vector<std::string>& task_stages();
// Every stage name `--stage` accepts.
const std::vector<std::string>& all_stages();

// Creates RUN/ (which must not hold a run already) with config.json and the store. Throws
// core::Error when RUN/ holds a run or cannot be written.
void init_run(const std::filesystem::path& run_dir, const RunConfig& config);
// Reads RUN/config.json. Throws core::Error when RUN/ is not a run.
RunConfig load_run_config(const std::filesystem::path& run_dir);

// Runs the agent with `model` as its controller; never throws (agent::Agent::run's contract).
using AgentRunner = std::function<agent::Trajectory(llm::ChatModel& model, const agent::Task&,
                                                    const agent::RunPaths&)>;

struct PipelineDeps {
  StageModels models;
  AgentRunner run_agent;
  std::vector<std::string> tools;  // the tool names offered to the queries stage
  std::string agent_prompt_version;
  std::string agent_system_prompt;  // as rendered for the agent: kept for the exports
};

struct RunOptions {
  std::int64_t tasks = 0;
  int concurrency = 1;
  std::optional<std::string> only_stage;  // one of all_stages(); none: every stage
  // Told each unit recorded, as one line ("t000003 verify_files: rejected (reason)"); never called
  // concurrently.
  std::function<void(const std::string& line)> on_recorded;
};

struct RunSummary {
  std::int64_t batches = 0;      // query batches run now
  std::int64_t tasks_added = 0;  // by those batches
  std::int64_t units = 0;        // task stage results recorded now
  bool interrupted = false;      // an interrupt request (or too many deferrals) stopped it early
  // Units left unrecorded because the teacher (or the sandbox) failed transiently: the next run
  // does them. Several in a row stop the run (the teacher is down).
  std::int64_t deferred = 0;
  std::string last_deferral;
  std::optional<std::string> stopped;  // why query making stopped before `tasks` were made
};

// The work folder of task `id`: RUN/tasks/<t000042>/.
std::string task_name(std::int64_t id);
std::filesystem::path task_dir(const std::filesystem::path& run_dir, std::int64_t id);

// Runs what remains of the run's first `options.tasks` tasks, making query batches until that
// many exist. Finished units (batches, task stages) recorded in `store` are never redone. Throws
// core::Error when the store fails; stops taking work on an interrupt request.
RunSummary run_pipeline(const std::filesystem::path& run_dir, const RunConfig& config, Store& store,
                        const PipelineDeps& deps, const RunOptions& options);

}  // namespace mat::synth

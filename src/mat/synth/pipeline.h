// A `mat synth` run: its configuration (RUN/config.json), and the stages that turn the teacher
// into verified trajectories. Query batches are made until the run holds the tasks asked for;
// each task then moves through verify_files, trajectory and verify_trajectory as soon as the
// previous stage is done (no stage-wide barrier), on `concurrency` worker threads (so at most
// that many teacher calls in flight), every call passing the run's limits (limits.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/core/json.h"
#include "mat/llm/embedder.h"
#include "mat/synth/limits.h"
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
  std::string agent_prompt = "t3-v2";    // the trajectory stage's built-in prompt version
  std::vector<std::string> agent_tools;  // the tools the agent is offered; empty: all that work
  std::string queries_prompt = "queries-v1";
  std::string verify_files_prompt = "verify_files-v1";
  std::string verify_trajectory_prompt = "verify_trajectory-v1";
  std::string seeds = "seeds-v1";
  std::string file_contents_prompt = "file_contents-v1";
  std::string file_code_prompt = "file_code-v1";
  int file_code_timeout_s = 60;  // per file-making script, in the sandbox
  // The embedder of the query de-duplication and the image pool; no model: neither.
  std::string embedder_model;
  std::string embedder_base_url;   // empty: the teacher's endpoint
  double dedupe_similarity = 0.9;  // the cosine from which two queries are near-duplicates
  std::string images;    // the image pool's folder (indexed in RUN/image_pool/); empty: none
  std::string captions;  // its captions file; empty: IMAGES/captions.jsonl
  // false: a task a verifier rejects still runs its later stages (verdicts recorded), so that one
  // run gives both the verified data and the paper's ablation without verifiers
  // (`mat synth export --include-rejected`).
  bool verifiers_stop_tasks = true;
  // {"MODEL": {"input_per_mtok": x, "output_per_mtok": y}}: what each call's cost is reckoned at.
  core::Json prices = core::Json::object();

  core::Json to_json() const;
  // Throws core::Error naming the field that is missing or mistyped.
  static RunConfig from_json(const core::Json& json);
};

// The stages of a task, in order, after the run's `queries` batches.
const std::vector<std::string>& task_stages();
// Every stage name `--stage` accepts.
const std::vector<std::string>& all_stages();

// Creates RUN/ (which must not hold a run already) with config.json and the store, and with
// config.images, the image pool's index (embedded by `embedder`; image_pool.h). Throws
// core::Error when RUN/ holds a run or cannot be written, or the pool cannot be built (a build
// stopped part way resumes when init runs again).
void init_run(const std::filesystem::path& run_dir, const RunConfig& config,
              llm::Embedder* embedder = nullptr,
              const std::function<void(size_t done, size_t total)>& progress = {});
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
  // Embeds queries (de-duplication) and image descriptions (the images stage); none: no
  // embedding de-duplication, and image tasks fail.
  std::shared_ptr<llm::Embedder> embedder;
};

// Shard `index` (from 0) of `count`: the query batches b with (b - 1) % count == index, and
// their tasks.
struct Shard {
  int index = 0;
  int count = 1;
  bool has(std::int64_t batch) const { return (batch - 1) % count == index; }
};
// "i/n" (i from 1) as given to --shard. Throws core::Error on anything else.
Shard parse_shard(const std::string& text);

struct RunOptions {
  std::int64_t tasks = 0;
  int concurrency = 1;
  // Unsharded, the run makes query batches 1, 2, ... until they hold `tasks` live tasks and runs
  // the first `tasks` of them. A shard makes its slice of the batches 1..ceil(tasks / queries per
  // batch) and runs their tasks of id ≤ `tasks`: with no duplicate and no failed batch, the
  // shards together do exactly what the unsharded run does.
  std::optional<Shard> shard;
  // Every teacher call passes it (budget, rates, the live counts); none: no limits.
  CallLimiter* limiter = nullptr;
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
  bool budget_reached = false;  // the limiter's budget stopped the run (interrupted is false)
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

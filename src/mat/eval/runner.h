// Runs the agent on a benchmark's tasks into a run folder, resumably and in parallel:
//
//   RUNDIR/tasks/<id>/trajectory.json   one record per task (source = {benchmark, id})
//   RUNDIR/tasks/<id>/work/, shown/     that run's sandbox folder and the images it was shown
//
// A task whose record is complete is never run again; any other (no record, a record left by a
// killed run, one whose attachments were missing) runs afresh in an emptied folder. Records are
// written atomically (core::write_json_file), so a run killed at any moment loses at most the
// tasks in progress, and `mat eval score --predictions RUNDIR` reads the folder as it is.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/eval/eval_task.h"

namespace mat::eval {

inline constexpr const char* kRecordFile = "trajectory.json";

// `id` as a folder name: letters, digits, '.', '-' and '_' kept, every other byte as %XX (and a
// name of dots escaped), so that distinct ids get distinct folders.
std::string task_folder_name(std::string_view id);

// RUNDIR/tasks/<task_folder_name(id)>.
std::filesystem::path task_dir(const std::filesystem::path& run_dir, std::string_view id);

// Whether `record` ends a task for good: it has an end reason, and not "interrupted" (the process
// stopped) nor "input_error" (no model call was made: the attachments may be there next time).
// With `retry_errors`, "model_error", "sandbox_error" and "internal_error" are run again too.
bool is_complete(const agent::Trajectory& record, bool retry_errors = false);

// The record of `id` in `run_dir` for `benchmark`, when one is there and readable (a record of
// another task or benchmark is ignored).
std::optional<agent::Trajectory> read_task_record(const std::filesystem::path& run_dir,
                                                  std::string_view benchmark, std::string_view id);

// Runs one task: what an agent::Agent does, with its own model, tools and sandbox per worker.
using TaskRunner = std::function<agent::Trajectory(const agent::Task&, const agent::RunPaths&)>;

struct RunnerOptions {
  int jobs = 1;               // tasks in parallel, each on its own thread and TaskRunner
  bool retry_errors = false;  // see is_complete
};

struct TaskOutcome {
  const EvalTask* task = nullptr;
  agent::Trajectory record;                // as written (or as found, when skipped)
  bool skipped = false;                    // complete before this run: not run again
  std::optional<std::string> write_error;  // the record could not be written: it runs next time
};

struct RunSummary {
  std::size_t skipped = 0;
  std::size_t ran = 0;
  std::size_t incomplete = 0;  // ran but not complete (interrupted, input_error, ...)
  bool interrupted = false;    // a signal stopped the run before every task was taken
};

// Runs every task of `tasks` that has no complete record in `run_dir`. `runners` holds one
// TaskRunner per worker (their count is the parallelism; options.jobs is only a cap). `verdicts`
// scores a finished record for its `verdicts` field. `on_done` is called once per task, skipped
// ones first, then in the order tasks finish, never concurrently. Stops taking tasks once an
// interrupt is requested (core/interrupt.h): the tasks in progress end "interrupted".
RunSummary run_tasks(
    std::string_view benchmark, const std::vector<EvalTask>& tasks,
    const std::filesystem::path& run_dir, const RunnerOptions& options,
    std::vector<TaskRunner> runners,
    const std::function<core::Json(const EvalTask&, const agent::Trajectory&)>& verdicts,
    const std::function<void(const TaskOutcome&)>& on_done);

}  // namespace mat::eval

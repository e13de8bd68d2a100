#include "mat/eval/runner.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/core/utc_time.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

// The record of a task that cannot run: no model call, the reason said in its error.
agent::Trajectory not_run(const EvalTask& task, const fs::path& dir, const std::string& reason) {
  agent::Trajectory record;
  record.id = agent::make_run_id();
  record.task = task.text;
  for (const fs::path& file : task.files) {
    record.files.push_back({file.filename().string(), agent::file_type_of(file)});
  }
  record.end_reason = agent::end_reason::kInputError;
  record.error = reason;
  record.run_dir = fs::absolute(dir).string();
  record.started_at = core::utc_now();
  return record;
}

// Empties the folder a previous, unfinished attempt left: files its sandbox still owns are handed
// back first. Throws core::Error when the folder cannot be removed.
void clear_task_dir(const fs::path& dir) {
  std::error_code error;
  if (!fs::exists(dir, error)) return;
  agent::RunPaths::under(dir).reclaim();
  fs::remove_all(dir, error);
  if (error) {
    throw core::Error("cannot clear " + dir.string() + " to run its task again: " +
                      error.message() + " (remove it by hand and run again)");
  }
}

}  // namespace

std::string task_folder_name(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  const bool dots_only = id.find_first_not_of('.') == std::string_view::npos;
  for (const char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                       (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' ||
                       (byte == '.' && !dots_only);
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

fs::path task_dir(const fs::path& run_dir, std::string_view id) {
  return run_dir / "tasks" / task_folder_name(id);
}

bool is_complete(const agent::Trajectory& record, bool retry_errors) {
  namespace reason = agent::end_reason;
  const std::string& end = record.end_reason;
  if (end.empty() || end == reason::kInterrupted || end == reason::kInputError) return false;
  if (retry_errors && (end == reason::kModelError || end == reason::kSandboxError ||
                       end == reason::kInternalError)) {
    return false;
  }
  return true;
}

std::optional<agent::Trajectory> read_task_record(const fs::path& run_dir,
                                                  std::string_view benchmark, std::string_view id) {
  const fs::path path = task_dir(run_dir, id) / kRecordFile;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  try {
    agent::Trajectory record = agent::Trajectory::from_json(core::read_json_file(path));
    if (!record.source.is_object() || record.source.value("benchmark", Json()) != benchmark ||
        record.source.value("id", Json()) != id) {
      return std::nullopt;
    }
    return record;
  } catch (const std::exception&) {  // unreadable or half-formed: the task runs again
    return std::nullopt;
  }
}

RunSummary run_tasks(std::string_view benchmark, const std::vector<EvalTask>& tasks,
                     const fs::path& run_dir, const RunnerOptions& options,
                     std::vector<TaskRunner> runners,
                     const std::function<Json(const EvalTask&, const agent::Trajectory&)>& verdicts,
                     const std::function<void(const TaskOutcome&)>& on_done) {
  if (runners.empty()) throw core::Error("run_tasks needs at least one task runner");
  RunSummary summary;
  std::mutex mutex;  // guards summary and on_done
  std::vector<const EvalTask*> pending;
  for (const EvalTask& task : tasks) {
    std::optional<agent::Trajectory> record = read_task_record(run_dir, benchmark, task.id);
    if (record && is_complete(*record, options.retry_errors)) {
      ++summary.skipped;
      TaskOutcome outcome;
      outcome.task = &task;
      outcome.record = std::move(*record);
      outcome.skipped = true;
      on_done(outcome);
    } else {
      pending.push_back(&task);
    }
  }

  std::atomic<std::size_t> next{0};
  auto work = [&](const TaskRunner& runner) {
    for (;;) {
      if (core::interrupt_requested()) return;
      const std::size_t index = next.fetch_add(1);
      if (index >= pending.size()) return;
      const EvalTask& task = *pending[index];
      const fs::path dir = task_dir(run_dir, task.id);
      TaskOutcome outcome;
      outcome.task = &task;
      try {
        clear_task_dir(dir);
        if (task.missing) {
          outcome.record = not_run(task, dir, *task.missing);
        } else {
          agent::Task run_task;
          run_task.text = task.text;
          run_task.files = task.files;
          outcome.record = runner(run_task, agent::RunPaths::under(dir));
        }
      } catch (const std::exception& e) {  // the folder could not be prepared
        outcome.record = not_run(task, dir, e.what());
        outcome.record.end_reason = agent::end_reason::kInternalError;
      }
      outcome.record.source = {{"benchmark", benchmark}, {"id", task.id}};
      outcome.record.ground_truth = task.ground_truth;
      outcome.record.verdicts = verdicts(task, outcome.record);
      try {
        fs::create_directories(dir);
        core::write_json_file(dir / kRecordFile, outcome.record.to_json());
      } catch (const std::exception& e) {
        outcome.write_error = e.what();
      }
      const std::lock_guard lock(mutex);
      ++summary.ran;
      if (outcome.write_error || !is_complete(outcome.record, options.retry_errors)) {
        ++summary.incomplete;
      }
      on_done(outcome);
    }
  };

  const std::size_t jobs = std::min(
      {runners.size(), pending.size(), static_cast<std::size_t>(std::max(options.jobs, 1))});
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < jobs; ++i) threads.emplace_back(work, std::cref(runners[i]));
  if (jobs > 0) work(runners[0]);
  for (std::thread& thread : threads) thread.join();
  summary.interrupted = next.load() < pending.size() || core::interrupt_requested();
  return summary;
}

}  // namespace mat::eval

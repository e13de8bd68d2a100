#include "mat/sandbox/sandbox.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/sandbox/artifacts.h"
#include "mat/sandbox/isolation.h"
#include "mat/sandbox/output_capture.h"
#include "mat/sandbox/worker.h"

// Generated from python/mat_sandbox/worker.py by mat_embed_text (cmake/embed.cmake).
std::string_view mat_embedded_python(std::string_view name);

namespace mat::sandbox {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kStateLost =
    "The Python interpreter was restarted, so all variables, imports and functions from earlier "
    "steps are lost: import and recompute what you need again.";

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

fs::path existing_directory(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path, error);
  fs::path canonical = fs::canonical(path, error);
  if (error || !fs::is_directory(canonical)) {
    throw core::Error("the sandbox's work dir '" + path.string() +
                      "' is not a usable directory: " + error.message());
  }
  return canonical;
}

fs::path existing_path(const fs::path& path) {
  std::error_code error;
  fs::path canonical = fs::canonical(path, error);
  if (error) {
    throw core::Error("cannot give the sandbox read access to '" + path.string() +
                      "': " + error.message() + "; attach only files that exist");
  }
  return canonical;
}

// Entries of the work dir present before the worker starts (attached files, a reused folder's
// contents) are bound read-only over themselves: the code can read them but cannot change,
// rename or delete them (a mount point cannot be unlinked). Links and special files are left
// out: binding one would follow it to wherever it points.
constexpr size_t kMaxProtectedEntries = 1000;

std::vector<fs::path> preexisting_entries(const core::ConfinedDir& work_dir) {
  std::vector<fs::path> entries;
  for (const core::DirEntry& entry : work_dir.scan(kMaxProtectedEntries + 1, 1)) {
    if (entry.kind != core::EntryKind::kRegular && entry.kind != core::EntryKind::kDirectory)
      continue;
    entries.push_back(work_dir.path() / entry.relative);
  }
  if (entries.size() > kMaxProtectedEntries) {
    throw core::Error("the work dir '" + work_dir.path().string() + "' holds more than " +
                      std::to_string(kMaxProtectedEntries) +
                      " entries: give the run an empty folder and attach the files it needs");
  }
  return entries;
}

core::Json init_message(const Options& options, bool isolated) {
  const Limits& limits = options.limits;
  core::Json tools = core::Json::array();
  for (const ToolBinding& tool : options.tools) {
    tools.push_back({{"name", tool.name}, {"parameters", tool.parameters}});
  }
  core::Json variables = core::Json::object();
  for (const auto& [name, value] : options.variables) variables[name] = value;
  return {{"op", "init"},
          {"work_dir", options.work_dir.string()},
          {"allowed",
           options.allowed_imports.empty() ? default_allowed_imports() : options.allowed_imports},
          {"tools", tools},
          {"variables", variables},
          {"limits",
           {{"cpu_seconds", limits.cpu_seconds},
            {"address_space_bytes", limits.address_space_mb << 20},
            {"file_size_bytes", limits.file_size_mb << 20},
            // Without the sandbox the count would be the whole user's, not this worker's.
            {"max_processes", isolated ? core::Json(limits.max_processes) : core::Json()}}},
          {"contain_processes", isolated}};
}

}  // namespace

const std::vector<std::string>& default_allowed_imports() {
  static const std::vector<std::string> modules = {
      // data, images, maths
      "numpy", "pandas", "matplotlib", "PIL", "cv2", "sympy", "scipy", "openpyxl", "math", "cmath",
      "statistics", "random", "decimal", "fractions", "numbers",
      // text and formats
      "re", "json", "csv", "xml", "html", "string", "textwrap", "unicodedata", "difflib", "base64",
      "hashlib", "struct", "io", "zipfile", "gzip", "bz2", "lzma", "tarfile", "pathlib", "glob",
      "fnmatch", "stat", "shlex", "locale",
      // the language
      "collections", "itertools", "functools", "operator", "copy", "heapq", "bisect", "array",
      "typing", "dataclasses", "enum", "pprint", "datetime", "time", "calendar", "warnings",
      "queue", "abc", "contextlib", "types", "weakref", "uuid", "zoneinfo", "traceback"};
  return modules;
}

struct Sandbox::Impl {
  Options options;
  ToolHandler tools;
  std::optional<core::ConfinedDir> work_dir;  // what the host reads of it goes through this
  std::optional<WorkDirLease> lease;          // root host: the work dir lent to the worker's uid
  std::optional<core::TempDir> home;          // without isolation: the worker's private HOME
  WorkerLaunch launch;
  core::Json init;
  std::unique_ptr<Worker> worker;
  int steps = 0;

  void start_worker() { worker = std::make_unique<Worker>(launch, init); }

  // After a timeout or a crash: a fresh worker for the next step. Returns a note for the model
  // when even that failed (the next execute() tries again and throws if it still fails).
  std::string restart_worker() {
    worker.reset();
    try {
      start_worker();
      return "";
    } catch (const core::Error& e) {
      return std::string(" Starting a fresh interpreter failed too: ") + e.what();
    }
  }
};

Sandbox::Sandbox(Options options, ToolHandler tools) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const bool isolated = !options.unsafe_no_sandbox;
  if (isolated) {
    if (std::optional<std::string> problem = isolation_problem()) {
      throw core::Error("cannot run model code in a sandbox: " + *problem +
                        ". To run it without isolation (trusted code only), pass "
                        "--unsafe-no-sandbox.");
    }
  }
  options.work_dir = existing_directory(options.work_dir);
  for (fs::path& path : options.readable_paths) path = existing_path(path);
  s.work_dir.emplace(options.work_dir);
  if (isolated) {
    for (fs::path& entry : preexisting_entries(*s.work_dir)) {
      options.readable_paths.push_back(std::move(entry));
    }
  }
  s.options = std::move(options);
  s.tools = std::move(tools);
  s.launch = WorkerLaunch{.python = s.options.python,
                          .worker_source = mat_embedded_python("worker.py"),
                          .work_dir = s.options.work_dir,
                          .readable_paths = s.options.readable_paths,
                          .tmp_bytes = s.options.limits.file_size_mb << 20,
                          .isolated = isolated,
                          .run_as = std::nullopt,
                          .home = {}};
  if (isolated && ::geteuid() == 0) {
    s.lease.emplace(s.options.work_dir);
    s.launch.run_as = s.lease->uid();
  }
  if (!isolated) {
    s.home.emplace("mat-sandbox");
    s.launch.home = s.home->path();
  }
  s.init = init_message(s.options, isolated);
  s.start_worker();
}

Sandbox::~Sandbox() = default;

const Options& Sandbox::options() const {
  return impl_->options;
}

ExecResult Sandbox::execute(const std::string& code) {
  Impl& s = *impl_;
  const Clock::time_point started = Clock::now();
  if (!s.worker) s.start_worker();  // the restart after the last step failed; try again

  const Limits& limits = s.options.limits;
  OutputCapture output(limits.output_cap_bytes);
  const DirSnapshot before = snapshot_files(*s.work_dir);
  StepOutcome step = s.worker->run_step(code, ++s.steps, s.tools, limits.step_wall, output);

  ExecResult result;
  result.final_answer = std::move(step.final_answer);
  switch (step.end) {
    case StepOutcome::End::kDone:
      result.error = std::move(step.error);
      break;
    case StepOutcome::End::kTimedOut:
      result.timed_out = true;
      result.worker_restarted = true;
      if (step.slow_tool) {
        const auto& [tool, took] = *step.slow_tool;
        result.error = "TimeoutError: the tool '" + tool + "' ran for " + seconds_text(took) +
                       " and used up the rest of this step's limit of " +
                       seconds_text(limits.step_wall) +
                       ", so the step was stopped. Call it on less (a smaller image, a shorter "
                       "document) or in a step of its own. " +
                       kStateLost + s.restart_worker();
      } else {
        result.error = "TimeoutError: this step ran longer than the limit of " +
                       seconds_text(limits.step_wall) +
                       " and was stopped. Make the code faster (less data, fewer iterations) or "
                       "split the work into smaller steps. " +
                       kStateLost + s.restart_worker();
      }
      break;
    case StepOutcome::End::kInterrupted:
      result.interrupted = true;
      result.error = "Interrupted: mat was asked to stop (Ctrl-C or SIGTERM) while this step ran.";
      s.worker.reset();
      break;
    case StepOutcome::End::kDied:
      result.worker_restarted = true;
      result.error = "WorkerCrash: the Python interpreter died while running this step (" +
                     step.death + "). " + kStateLost + s.restart_worker();
      break;
  }
  result.output = output.text();
  result.output_truncated = output.truncated();
  Changes changes = changed_files(before, snapshot_files(*s.work_dir), s.options.work_dir);
  result.artifacts = std::move(changes.files);
  result.unread_entries = std::move(changes.others);
  result.exec_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return result;
}

}  // namespace mat::sandbox

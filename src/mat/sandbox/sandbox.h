// The sandboxed Python worker: one persistent interpreter per agent run, isolated from the
// network and the rest of the file system, with resource limits, an import allow-list, and
// tools that call back into the C++ host.
//
//   sandbox::Options options;
//   options.work_dir = run_dir;                       // the only writable place
//   options.tools = {{"ocr", {"image"}}, {"final_answer", {"answer"}}};
//   sandbox::Sandbox box(options, [&](const std::string& tool, const core::Json& args,
//                                     sandbox::Deadline step_ends) {
//     return registry.invoke(tool, args);            // -> sandbox::ToolOutcome
//   });
//   sandbox::ExecResult r = box.execute("x = 1\nprint(x)");   // r.output == "1\n"
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"

namespace mat::sandbox {

struct Limits {
  std::chrono::milliseconds step_wall{60'000};  // per execute(); the worker is killed past it
  int cpu_seconds = 300;                        // RLIMIT_CPU for the worker's whole life
  size_t address_space_mb = 4096;               // RLIMIT_AS
  size_t file_size_mb = 256;                    // RLIMIT_FSIZE
  int max_processes =
      64;  // RLIMIT_NPROC: per sandbox (its own uid as root, its own userns otherwise)
  size_t output_cap_bytes = 20'000;  // printed output kept per step
};

// A function the model's Python code can call: `name(param=value, ...)`.
struct ToolBinding {
  std::string name;
  std::vector<std::string> parameters;  // keyword names, for the Python signature and help()
};

// What the host answers to one tool call from Python.
struct ToolOutcome {
  bool ok = true;
  core::Json value;       // the tool's result when ok
  std::string error;      // a message the model can act on when !ok (raised as an exception)
  bool ends_run = false;  // final_answer: stop executing this step and report `value`
};

// When the step that makes a tool call must end: a tool that waits on something slow (a model, a
// web server) gives up by then. A tool that returns later still ends the step, as timed out.
using Deadline = std::chrono::steady_clock::time_point;
using ToolHandler =
    std::function<ToolOutcome(const std::string& tool, const core::Json& args, Deadline step_ends)>;

struct Options {
  // Writable; the worker's cwd. What is in it when the Sandbox starts is bound read-only.
  std::filesystem::path work_dir;
  std::vector<std::filesystem::path> readable_paths;  // extra read-only paths (attached files)
  std::vector<std::string> allowed_imports;           // empty = the default allow-list
  std::vector<ToolBinding> tools;
  // Globals the model's code starts with, name -> JSON value (as json.loads gives it): the
  // agent hands the attached files' names over as `attached_files`. Names must be identifiers.
  std::map<std::string, core::Json> variables;
  Limits limits;
  std::filesystem::path python = "/usr/bin/python3";
  bool unsafe_no_sandbox = false;  // run without bubblewrap/seccomp (explicit user opt-in only)
};

struct ExecResult {
  std::string output;  // captured stdout+stderr, capped
  bool output_truncated = false;
  std::optional<std::string> error;              // exception summary (model's own frames only)
  std::optional<core::Json> final_answer;        // set when the code called a tool with ends_run
  std::vector<std::filesystem::path> artifacts;  // regular files created or modified in work_dir
  // Links, FIFOs, sockets and devices the step made, as "name (symbolic link)": the host lists
  // them and never follows or opens them.
  std::vector<std::string> unread_entries;
  bool timed_out = false;         // step_wall exceeded: worker killed
  bool worker_restarted = false;  // the worker died (timeout, crash); state is lost
  bool interrupted = false;       // a signal asked mat to stop; the worker is gone
  double exec_ms = 0;
};

// Why isolation is unavailable on this machine, or nullopt when bubblewrap, user namespaces and
// seccomp all work. The message says how to fix it.
std::optional<std::string> isolation_problem();

// The default import allow-list (numpy, pandas, matplotlib, PIL, cv2, math, re, json, ...).
const std::vector<std::string>& default_allowed_imports();

// After a host that lent `work_dir` was killed (SIGKILL, a crash) before handing it back: gives
// every entry still owned by a sandbox uid to the owner of the folder above it. Returns how many
// entries changed hands; does nothing without root. Throws core::Error when the folder cannot be
// read.
size_t reclaim_work_dir(const std::filesystem::path& work_dir);

class Sandbox {
 public:
  // Starts the worker. Throws core::Error when isolation is unavailable and
  // !options.unsafe_no_sandbox, or when the worker cannot start.
  Sandbox(Options options, ToolHandler tools);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Runs one step of model code in the persistent interpreter. Never throws for problems in the
  // code itself (those come back in ExecResult); a worker that died is restarted fresh. Throws
  // core::Error when no worker can be started at all.
  ExecResult execute(const std::string& code);

  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mat::sandbox

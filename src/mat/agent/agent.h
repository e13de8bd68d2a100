// The T3 agent: a VLM controller writes thought + Python code each step, the code runs in the
// sandbox and calls tools, printed output comes back as the next observation, until
// final_answer(...) or a limit. Every run yields exactly one trajectory record.
//
//   agent::Agent agent(model, registry, agent::PromptTemplate::builtin(), {});
//   agent::Trajectory t = agent.run({.text = "Sum the table", .files = {"table.png"}},
//                                   agent::RunPaths::under("mat-runs/run-1"));
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mat/agent/prompt.h"
#include "mat/agent/trajectory.h"
#include "mat/llm/chat_model.h"
#include "mat/sandbox/sandbox.h"
#include "mat/tools/registry.h"

namespace mat::agent {

struct AgentOptions {
  int max_steps = 8;
  int max_consecutive_errors = 5;    // paper: 5 when evaluating, 3 when generating data
  core::ImageLimits images;          // what is decoded and how large it is sent
  int max_images_per_step = 4;       // saved images shown with one observation
  llm::GenerationParams generation;  // the step stop sequences are added to these
  sandbox::Limits limits;
  std::vector<std::string> allowed_imports;  // empty = sandbox::default_allowed_imports()
  bool unsafe_no_sandbox = false;
};

// Where a run lives. The work dir is the only place the model's code can write; the run dir holds
// what the host keeps (the images the model was shown) and must not be inside the work dir.
struct RunPaths {
  std::filesystem::path run_dir;
  std::filesystem::path work_dir;
  // The default layout: RUN/work/ for the code, RUN/shown/ for the host's copies of images.
  static RunPaths under(const std::filesystem::path& run_dir) {
    return {run_dir, run_dir / "work"};
  }
  // After a run was killed (SIGKILL, a crash) before its sandbox handed the work dir back: gives
  // every entry the sandbox still owns back to the folder's owner, so that the run's folder can
  // be removed or reused. Does nothing when there is no work dir. Throws core::Error when it
  // cannot be read.
  void reclaim() const;
};

struct Task {
  std::string id;  // empty = a fresh run id
  std::string text;
  std::vector<std::filesystem::path> files;
};

// Receives the run as it happens (the terminal, a log, a UI). Every method is optional.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_run_start(const Trajectory&) {}
  virtual void on_step_start(int /*index*/) {}
  virtual void on_model_token(std::string_view /*piece*/) {}
  virtual void on_model_reply(const Step&) {}  // raw, thought and code (or the parse error) known
  virtual void on_step_end(const Step&) {}     // observation or error known
  virtual void on_limit_reached(std::string_view /*end_reason*/) {}
  // The record so far (end_reason still empty), after the run starts and after every step:
  // lets a caller checkpoint it, so that a process killed mid-run still leaves its record.
  virtual void on_record_updated(const Trajectory& /*partial*/) {}
  virtual void on_run_end(const Trajectory&) {}
};

class Agent {
 public:
  Agent(llm::ChatModel& model, const tools::ToolRegistry& registry, PromptTemplate prompt,
        AgentOptions options);

  // Runs `task` with `paths.work_dir` as the sandbox's working directory (both folders are
  // created when missing; the attached files are copied into the work dir). Never throws: bad
  // input, model errors, sandbox problems and interrupt requests (core/interrupt.h) end the run
  // and are recorded in end_reason and error.
  Trajectory run(const Task& task, const RunPaths& paths, RunObserver* observer = nullptr);

  const AgentOptions& options() const { return options_; }

 private:
  llm::ChatModel& model_;
  const tools::ToolRegistry& registry_;
  PromptTemplate prompt_;
  AgentOptions options_;
};

// A new run id: UTC time and random hex, e.g. "20261126T044500Z-3fa2c1d0".
std::string make_run_id();

}  // namespace mat::agent

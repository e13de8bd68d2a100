// One running Python worker: its start-up handshake, the step protocol (worker.py describes the
// messages), the tool calls it makes, and what to say when it dies.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "mat/core/json.h"
#include "mat/core/unique_fd.h"
#include "mat/sandbox/child_process.h"
#include "mat/sandbox/frame_protocol.h"
#include "mat/sandbox/isolation.h"
#include "mat/sandbox/output_capture.h"
#include "mat/sandbox/sandbox.h"

namespace mat::sandbox {

struct StepOutcome {
  enum class End { kDone, kTimedOut, kDied, kInterrupted };
  End end = End::kDone;
  std::optional<std::string> error;        // kDone: the model's exception, as the model sees it
  std::optional<core::Json> final_answer;  // set when a tool answered with ends_run
  std::string death;                       // kDied: what happened to the worker
  // kTimedOut in a tool call: the tool, and how long that call took.
  std::optional<std::pair<std::string, std::chrono::milliseconds>> slow_tool;
};

class Worker {
 public:
  // Starts the worker, sends it `init` and waits until it is ready. Throws core::Error saying why
  // it did not start (with what it printed, e.g. bubblewrap's complaint).
  Worker(const WorkerLaunch& launch, const core::Json& init);
  ~Worker() = default;  // the child is killed with the Worker
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs one step. `budget` is wall time for the whole step, the tools it calls included. What the
  // code prints goes to `output`. After kTimedOut, kDied or kInterrupted the Worker is unusable:
  // destroy it.
  StepOutcome run_step(const std::string& code, int step, const ToolHandler& tools,
                       std::chrono::milliseconds budget, OutputCapture& output);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Wait { kFrame, kTimeout, kClosed, kInterrupted };

  Wait wait_frame(Clock::time_point deadline, OutputCapture& output, core::Json& frame,
                  std::string& why);
  // Reads what the worker printed once (nullptr: discards it); false when nothing more is
  // buffered or the output has ended.
  bool read_output(OutputCapture* output);
  // Reads everything already buffered.
  void drain_output(OutputCapture* output);
  std::string describe_death(const std::string& why);

  std::optional<ChildProcess> child_;
  UniqueFd control_;
  UniqueFd output_;
  bool output_open_ = true;
  FrameReader reader_;
  bool via_bwrap_ = false;
  int cpu_seconds_ = 0;
};

}  // namespace mat::sandbox

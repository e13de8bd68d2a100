#include "mat/sandbox/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"

namespace mat::sandbox {
namespace {

// Generous: a cold start on a loaded two-core machine, not the ~50 ms of a warm one.
constexpr std::chrono::seconds kStartTimeout{30};
constexpr size_t kStartOutputCap = 4096;
constexpr size_t kReadChunk = 64 * 1024;

ToolOutcome call_tool(const ToolHandler& tools, const std::string& name, const core::Json& args,
                      Deadline step_ends) {
  try {
    return tools(name, args, step_ends);
  } catch (const std::exception& e) {
    return {.ok = false, .value = nullptr, .error = e.what(), .ends_run = false};
  } catch (...) {
    return {.ok = false,
            .value = nullptr,
            .error = "tool '" + name + "' failed with an unknown error",
            .ends_run = false};
  }
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

Worker::Worker(const WorkerLaunch& launch, const core::Json& init)
    : cpu_seconds_(init.at("limits").at("cpu_seconds").get<int>()) {
  int sockets[2];
  int pipe_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0 ||
      ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw core::Error(std::string("cannot create the pipes for the Python worker: ") +
                      std::strerror(errno));
  }
  control_.reset(sockets[0]);
  UniqueFd worker_control(sockets[1]);
  output_.reset(pipe_fds[0]);
  UniqueFd worker_output(pipe_fds[1]);
  const UniqueFd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  set_nonblocking(control_.get());
  set_nonblocking(output_.get());

  PreparedLaunch prepared = prepare_launch(launch);
  via_bwrap_ = prepared.via_bwrap;
  prepared.spec.fds.insert(prepared.spec.fds.end(), {{null_input.get(), 0},
                                                     {worker_output.get(), 1},
                                                     {worker_output.get(), 2},
                                                     {worker_control.get(), kControlFd}});
  child_.emplace(ChildProcess::spawn(prepared.spec));
  // Only the worker may hold its ends: its exit must show as end-of-file on both channels.
  worker_output.reset();
  worker_control.reset();

  OutputCapture said(kStartOutputCap);
  core::Json ready;
  std::string why;
  const Clock::time_point deadline = Clock::now() + kStartTimeout;
  const SendResult sent = send_frame(control_.get(), init, deadline);
  const Wait wait = sent == SendResult::kSent       ? wait_frame(deadline, said, ready, why)
                    : sent == SendResult::kTimedOut ? Wait::kTimeout
                                                    : Wait::kClosed;
  if (wait == Wait::kFrame && ready.value("op", "") == "ready" && ready["error"].is_null()) return;
  std::string reason;
  if (wait == Wait::kFrame) {
    reason = "it rejected its configuration: " + ready.value("error", std::string("?"));
  } else if (wait == Wait::kTimeout || wait == Wait::kInterrupted) {
    reason = "it was not ready after " + std::to_string(kStartTimeout.count()) + " s";
  } else {
    reason = describe_death(why);
  }
  drain_output(&said);
  const std::string printed = said.text();
  throw core::Error("the sandbox's Python worker (" + launch.python.string() + ") did not start: " +
                    reason + (printed.empty() ? "" : "; it printed: " + printed));
}

StepOutcome Worker::run_step(const std::string& code, int step, const ToolHandler& tools,
                             std::chrono::milliseconds budget, OutputCapture& output) {
  drain_output(nullptr);  // anything printed between steps belongs to no step
  StepOutcome outcome;
  const auto died = [&](const std::string& why) {
    outcome.end = StepOutcome::End::kDied;
    outcome.death = describe_death(why);
    return outcome;
  };
  const auto ended = [&](StepOutcome::End end) {
    outcome.end = end;
    return outcome;
  };
  // Everything counts against the step's budget: the model's code, the tools it calls, and the
  // host's writes on the channel (a worker that stops reading must not hang the host).
  const Clock::time_point deadline = Clock::now() + budget;
  // The outcome when a message to the worker could not be sent.
  const auto unsent = [&](const core::Json& message) -> std::optional<StepOutcome> {
    switch (send_frame(control_.get(), message, deadline)) {
      case SendResult::kSent:
        return std::nullopt;
      case SendResult::kTimedOut:
        return ended(StepOutcome::End::kTimedOut);
      case SendResult::kClosed:
        break;
    }
    return died("");
  };
  if (auto failed = unsent({{"op", "exec"}, {"code", code}, {"step", step}})) return *failed;
  for (;;) {
    core::Json frame;
    std::string why;
    switch (wait_frame(deadline, output, frame, why)) {
      case Wait::kTimeout:
        return ended(StepOutcome::End::kTimedOut);
      case Wait::kInterrupted:
        return ended(StepOutcome::End::kInterrupted);
      case Wait::kClosed:
        return died(why);
      case Wait::kFrame:
        break;
    }
    const std::string op = frame.value("op", "");
    if (op == "done") {
      drain_output(&output);  // the worker flushed before answering: all of it is in the pipe
      if (frame["error"].is_string()) outcome.error = frame["error"].get<std::string>();
      return outcome;
    }
    if (op != "tool") continue;
    const std::string name = frame.value("name", "");
    const Clock::time_point called = Clock::now();
    const ToolOutcome result = call_tool(tools, name, frame["args"], deadline);
    if (Clock::now() >= deadline) {
      outcome.slow_tool.emplace(
          name, std::chrono::ceil<std::chrono::milliseconds>(Clock::now() - called));
      return ended(StepOutcome::End::kTimedOut);
    }
    if (result.ok && result.ends_run) outcome.final_answer = result.value;
    const core::Json reply = {{"op", "tool_result"},
                              {"ok", result.ok},
                              {"value", result.value},
                              {"error", result.error},
                              {"ends_run", result.ends_run}};
    if (auto failed = unsent(reply)) return *failed;
  }
}

Worker::Wait Worker::wait_frame(Clock::time_point deadline, OutputCapture& output,
                                core::Json& frame, std::string& why) {
  char buffer[kReadChunk];
  for (;;) {
    try {
      if (std::optional<core::Json> next = reader_.next()) {
        frame = std::move(*next);
        return Wait::kFrame;
      }
    } catch (const core::Error& e) {
      why = e.what();
      return Wait::kClosed;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Wait::kTimeout;
    if (core::interrupt_requested()) return Wait::kInterrupted;
    pollfd fds[3] = {{.fd = control_.get(), .events = POLLIN, .revents = 0},
                     {.fd = core::interrupt_fd(), .events = POLLIN, .revents = 0},
                     {.fd = output_.get(), .events = POLLIN, .revents = 0}};
    const int ready = ::poll(fds, output_open_ ? 3 : 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      why = std::string("waiting for it failed: ") + std::strerror(errno);
      return Wait::kClosed;
    }
    if (ready <= 0) continue;
    if (output_open_ && fds[2].revents != 0) read_output(&output);
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(control_.get(), buffer, sizeof buffer);
      if (n > 0) reader_.feed({buffer, static_cast<size_t>(n)});
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return Wait::kClosed;
    }
  }
}

bool Worker::read_output(OutputCapture* output) {
  char buffer[kReadChunk];
  const ssize_t n = ::read(output_.get(), buffer, sizeof buffer);
  if (n > 0 && output != nullptr) output->append({buffer, static_cast<size_t>(n)});
  if (n == 0) output_open_ = false;  // every writer closed fds 1 and 2: the worker is gone
  return n > 0 || (n < 0 && errno == EINTR);
}

void Worker::drain_output(OutputCapture* output) {
  while (output_open_ && read_output(output)) {
  }
}

std::string Worker::describe_death(const std::string& why) {
  // The control channel closing usually means the process is exiting; give it a moment to say how.
  std::optional<int> status = child_->wait_for(std::chrono::milliseconds(500));
  const bool still_running = !status;
  if (still_running) status = child_->kill();
  const ExitStatus exit = exit_status(*status, via_bwrap_);
  if (!why.empty()) return why;
  if (still_running) return "it closed its control channel";
  if (exit.signal == SIGXCPU) {
    return "it used up its CPU-time budget of " + std::to_string(cpu_seconds_) + " s";
  }
  if (exit.signal == SIGKILL) {
    return "it was killed (SIGKILL: the hard CPU-time limit or the kernel's out-of-memory killer)";
  }
  if (exit.signal != 0) {
    return "it was killed by signal " + std::to_string(exit.signal) + " (" +
           ::strsignal(exit.signal) + ")";
  }
  return "it exited with status " + std::to_string(exit.code);
}

}  // namespace mat::sandbox

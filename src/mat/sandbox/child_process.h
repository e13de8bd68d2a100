// Starting, killing and reaping the processes the sandbox runs (the worker, the isolation probe).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mat::sandbox {

struct SpawnSpec {
  std::vector<std::string> argv;         // argv[0]: absolute path of the program
  std::vector<std::string> env;          // "NAME=value"; the child sees exactly these
  std::vector<std::pair<int, int>> fds;  // {fd here, its number in the child}; others are closed
};

// How a child ended, with bubblewrap's convention (exit code 128+N for a command killed by signal
// N) undone, so that a worker that crashed inside the sandbox reads the same as one outside.
struct ExitStatus {
  int code = 0;    // valid when signal == 0
  int signal = 0;  // the signal that killed the program, 0 if it exited
};

class ChildProcess {
 public:
  // Starts the program in a new session (its own process group, which kill() takes down).
  // Throws core::Error naming the program when it cannot be started.
  static ChildProcess spawn(const SpawnSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // kills and reaps a child that is still running

  // The raw wait status once the child has exited, waiting at most `timeout`; nullopt while it
  // runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // SIGKILL to the child's process group, then reaps it; returns its wait status.
  int kill();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void release();

  pid_t pid_ = -1;
  std::optional<int> status_;
};

ExitStatus exit_status(int wait_status, bool via_bwrap);

}  // namespace mat::sandbox

#include "mat/sandbox/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "mat/core/error.h"
#include "mat/core/unique_fd.h"

namespace mat::sandbox {

using core::UniqueFd;

namespace {

// Runs posix_spawn on one thread that lives as long as the process. The kernel sends a child its
// parent-death signal (bwrap's --die-with-parent) when the *thread* that started it exits, so a
// worker started from a short-lived thread (a pool task, std::async) would be killed under its
// Sandbox's feet; started from this thread, the worker dies with the host process and only then.
class SpawnThread {
 public:
  static SpawnThread& instance() {
    static auto* const thread = new SpawnThread;  // never destroyed: it must outlive every child
    return *thread;
  }

  int run(std::function<int()> job) {
    std::packaged_task<int()> task(std::move(job));
    std::future<int> result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  SpawnThread() {
    std::thread([this] { serve(); }).detach();
  }

  [[noreturn]] void serve() {
    for (;;) {
      std::packaged_task<int()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<int()>> queue_;
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// posix_spawn's file actions and attributes, released on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

ChildProcess ChildProcess::spawn(const SpawnSpec& spec) {
  const std::string& program = spec.argv.at(0);
  int highest_target = 2;
  for (const auto& [from, to] : spec.fds) highest_target = std::max(highest_target, to);

  SpawnSetup setup;
  // Lift every source above the highest target first, so that no dup2 below overwrites a source
  // that is still to be copied.
  std::vector<UniqueFd> lifted;
  for (const auto& [from, to] : spec.fds) {
    lifted.emplace_back(::fcntl(from, F_DUPFD_CLOEXEC, highest_target + 1));
    if (!lifted.back()) {
      throw core::Error("cannot start '" + program + "': duplicating fd " + std::to_string(from) +
                        " failed: " + std::strerror(errno));
    }
    posix_spawn_file_actions_adddup2(&setup.actions, lifted.back().get(), to);
  }
  // The host may hold descriptors opened without O_CLOEXEC (other threads, libraries): none leak.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, highest_target + 1);

  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
  posix_spawnattr_setsigdefault(&setup.attributes, &all_signals);  // the host may ignore SIGPIPE
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv = c_strings(spec.argv);
  std::vector<char*> env = c_strings(spec.env);
  pid_t pid = -1;
  const int error = SpawnThread::instance().run([&] {
    return ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attributes, argv.data(),
                         env.data());
  });
  if (error != 0) {
    throw core::Error("cannot start '" + program + "': " + std::strerror(error) +
                      (error == ENOENT ? " (is it installed?)" : ""));
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  release();
  pid_ = std::exchange(other.pid_, -1);
  status_ = std::exchange(other.status_, std::nullopt);
  return *this;
}

ChildProcess::~ChildProcess() {
  release();
}

void ChildProcess::release() {
  if (pid_ > 0 && !status_) kill();
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = status;
    } else if (done < 0 && errno != EINTR) {
      status_ = 0;  // not our child any more (cannot happen unless someone else reaped it)
    } else if (std::chrono::steady_clock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return status_;
}

int ChildProcess::kill() {
  if (status_) return *status_;
  // The group takes the worker's own children along outside the sandbox; inside it, bwrap's
  // --die-with-parent and the pid namespace end everything once bwrap is gone.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  return status;
}

ExitStatus exit_status(int wait_status, bool via_bwrap) {
  if (WIFSIGNALED(wait_status)) return {.code = 0, .signal = WTERMSIG(wait_status)};
  const int code = WEXITSTATUS(wait_status);
  if (via_bwrap && code > 128 && code < 128 + NSIG) return {.code = 0, .signal = code - 128};
  return {.code = code, .signal = 0};
}

}  // namespace mat::sandbox

#include "mat/core/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>

namespace mat::core {
namespace {

std::atomic<int> requested_signal{0};
int pipe_fds[2] = {-1, -1};  // a self-pipe: the handler writes, poll() sees it readable

// Creates the pipe on first use, so interrupt_fd() works with or without the handlers.
void ensure_pipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) pipe_fds[0] = pipe_fds[1] = -1;
  });
}

extern "C" void on_interrupt(int signal) {
  const int saved_errno = errno;
  requested_signal.store(signal);
  if (pipe_fds[1] >= 0) {
    [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], "x", 1);
  }
  // The next one is not caught: a user who presses Ctrl-C twice wants out now.
  std::signal(signal, SIG_DFL);
  errno = saved_errno;
}

}  // namespace

void install_interrupt_handlers() {
  ensure_pipe();
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and look at the flag
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
  });
}

bool interrupt_requested() {
  return requested_signal.load() != 0;
}

int interrupt_signal() {
  return requested_signal.load();
}

int interrupt_fd() {
  ensure_pipe();
  return pipe_fds[0];
}

void interruptible_sleep(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    if (interrupt_requested()) throw Interrupted();
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd fd{.fd = interrupt_fd(), .events = POLLIN, .revents = 0};
    ::poll(&fd, fd.fd >= 0 ? 1 : 0, static_cast<int>(left.count()));
  }
}

}  // namespace mat::core

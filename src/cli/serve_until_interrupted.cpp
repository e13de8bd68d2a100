#include "serve_until_interrupted.h"

#include <poll.h>

#include <atomic>
#include <thread>

#include "mat/core/interrupt.h"

namespace mat::cli {

void serve_until_interrupted(const std::function<void()>& serve,
                             const std::function<void()>& stop) {
  std::atomic<bool> done{false};
  // A watcher thread, since the server's own loop cannot be woken by the interrupt's pipe.
  std::thread watcher([&stop, &done] {
    pollfd fd{core::interrupt_fd(), POLLIN, 0};
    while (!done && !core::interrupt_requested()) poll(&fd, 1, 200);
    stop();
  });
  serve();
  done = true;
  watcher.join();
}

}  // namespace mat::cli

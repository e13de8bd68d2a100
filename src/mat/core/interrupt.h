// Ctrl-C and SIGTERM as a request to stop cleanly: the first one sets a flag that blocking waits
// (the model request, the sandbox's step, a retry's backoff) notice, so that the run is finished
// with end_reason "interrupted", its record written and the work dir handed back. A second signal
// gets the default action (the process dies at once).
#pragma once

#include <chrono>

#include "mat/core/error.h"

namespace mat::core {

// Thrown by a wait that was cut short by an interrupt request.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted by a signal (Ctrl-C or SIGTERM)") {}
};

// Installs the handlers for SIGINT and SIGTERM (once per process; later calls do nothing).
void install_interrupt_handlers();

// Whether an interrupt was requested, and by which signal (0 when none).
bool interrupt_requested();
int interrupt_signal();

// A descriptor that becomes readable once an interrupt is requested, to add to poll().
int interrupt_fd();

// Sleeps for `duration` unless interrupted first; throws Interrupted then.
void interruptible_sleep(std::chrono::milliseconds duration);

}  // namespace mat::core

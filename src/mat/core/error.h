// mat's one error type. Every message says what failed, on which input, and what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace mat::core {

// Thrown for failures a user can act on (bad input, unreachable server, missing file, ...).
// `what()` is the complete, user-facing message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mat::core

// The messages between the host and the Python worker: a 4-byte little-endian payload length,
// then the payload, UTF-8 JSON. They travel on a socket of their own (fd 3 in the worker), so
// nothing the model's code writes to stdout or stderr can corrupt them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mat/core/json.h"

namespace mat::sandbox {

inline constexpr size_t kMaxFrameBytes = size_t{256} << 20;

// Sends one message, waiting while the socket is full; false when the worker is gone. Strings that
// are not valid UTF-8 are sent with U+FFFD in place of the bad bytes.
bool send_frame(int fd, const core::Json& message);

// Collects bytes read from the socket and cuts them into messages.
class FrameReader {
 public:
  void feed(std::string_view bytes);
  // The next complete message, or nullopt until more bytes arrive. Throws core::Error when the
  // bytes are not a well-formed frame.
  std::optional<core::Json> next();

 private:
  std::string buffer_;
  size_t consumed_ = 0;
};

}  // namespace mat::sandbox

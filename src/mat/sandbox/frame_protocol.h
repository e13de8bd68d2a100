// The messages between the host and the Python worker: a 4-byte little-endian payload length,
// then the payload, UTF-8 JSON. They travel on a socket of their own (fd 3 in the worker), so
// nothing the model's code writes to stdout or stderr can corrupt them.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mat/core/json.h"

namespace mat::sandbox {

// Tool arguments and results are paths, numbers and text, never bulk data: a frame larger than
// this, or nested deeper than core::kMaxJsonDepth, is a corrupt or hostile channel.
inline constexpr size_t kMaxFrameBytes = size_t{16} << 20;

enum class SendResult { kSent, kClosed, kTimedOut };

// Sends one message, waiting while the socket is full but never past `deadline` (a worker that
// stops reading must not block the host). Strings that are not valid UTF-8 are sent with U+FFFD
// in place of the bad bytes.
SendResult send_frame(int fd, const core::Json& message,
                      std::chrono::steady_clock::time_point deadline);

// Collects bytes read from the socket and cuts them into messages.
class FrameReader {
 public:
  void feed(std::string_view bytes);
  // The next complete message, or nullopt until more bytes arrive. Throws core::Error when the
  // bytes are not a well-formed frame (too large, too deep, not a JSON object with an "op").
  std::optional<core::Json> next();

 private:
  std::string buffer_;
  size_t consumed_ = 0;
};

}  // namespace mat::sandbox

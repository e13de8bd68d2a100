#include "mat/sandbox/frame_protocol.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "mat/core/error.h"

namespace mat::sandbox {

SendResult send_frame(int fd, const core::Json& message,
                      std::chrono::steady_clock::time_point deadline) {
  const std::string payload = message.dump(-1, ' ', false, core::Json::error_handler_t::replace);
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  frame += payload;
  std::string_view rest = frame;
  while (!rest.empty()) {
    // MSG_NOSIGNAL: a worker that died must show up as a failed send, not as SIGPIPE in the host.
    const ssize_t sent = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      rest.remove_prefix(static_cast<size_t>(sent));
    } else if (sent < 0 && errno == EAGAIN) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return SendResult::kTimedOut;
      pollfd writable{.fd = fd, .events = POLLOUT, .revents = 0};
      ::poll(&writable, 1, static_cast<int>(left.count()));
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else {
      return SendResult::kClosed;
    }
  }
  return SendResult::kSent;
}

void FrameReader::feed(std::string_view bytes) {
  buffer_.erase(0, consumed_);
  consumed_ = 0;
  buffer_.append(bytes);
}

std::optional<core::Json> FrameReader::next() {
  const size_t available = buffer_.size() - consumed_;
  if (available < 4) return std::nullopt;
  size_t size = 0;
  for (int i = 0; i < 4; ++i) {
    size |= size_t{static_cast<unsigned char>(buffer_[consumed_ + i])} << (8 * i);
  }
  if (size > kMaxFrameBytes) {
    throw core::Error("the Python worker sent a message of " + std::to_string(size) +
                      " bytes, more than the " + std::to_string(kMaxFrameBytes) +
                      " allowed: the control channel is corrupt");
  }
  if (available < 4 + size) return std::nullopt;
  const std::string_view payload(buffer_.data() + consumed_ + 4, size);
  consumed_ += 4 + size;
  std::optional<core::Json> message = core::parse_untrusted_json(payload);
  if (!message || !message->is_object() || !message->contains("op")) {
    throw core::Error(
        "the Python worker sent a malformed message (not a JSON object with an \"op\", or "
        "nested more than " +
        std::to_string(core::kMaxJsonDepth) + " deep): the control channel is corrupt");
  }
  return message;
}

}  // namespace mat::sandbox

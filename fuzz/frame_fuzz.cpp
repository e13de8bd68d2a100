// The host's reader of the Python worker's control channel. The worker runs the model's code, so
// whatever it sends is hostile: FrameReader must hand out messages or throw core::Error (the host
// then drops the worker), whatever the bytes and wherever the socket split them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mat/core/error.h"
#include "mat/sandbox/frame_protocol.h"
#include "pieces.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  mat::sandbox::FrameReader reader;
  try {
    mat::fuzz::for_each_piece(input, [&reader](std::string_view piece) {
      reader.feed(piece);
      // The host walks every message it accepts (arguments are validated, copied, dumped):
      // dumping does the same, so a message too deep to walk crashes here, not in production.
      while (const std::optional<mat::core::Json> message = reader.next()) {
        static_cast<void>(message->dump());
      }
      return true;
    });
  } catch (const mat::core::Error&) {
    // A malformed frame: the documented outcome, after which the host stops reading.
  }
  return 0;
}

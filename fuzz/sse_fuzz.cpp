// The body of a streamed chat completion, as any server (or a proxy in between) may send it:
// SseParser must cut the same events out of it wherever the network split the bytes, and
// ChatStreamReader must assemble a result or throw MalformedResponse.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mat/core/error.h"
#include "mat/llm/openai_wire.h"
#include "mat/llm/sse.h"
#include "pieces.h"

namespace {

std::vector<std::string> events_in_pieces(std::string_view input) {
  mat::llm::SseParser parser;
  std::vector<std::string> events;
  mat::fuzz::for_each_piece(input, [&](std::string_view piece) {
    for (std::string& event : parser.feed(piece)) events.push_back(std::move(event));
    return true;
  });
  if (auto last = parser.finish()) events.push_back(std::move(*last));
  return events;
}

std::vector<std::string> events_at_once(std::string_view input) {
  mat::llm::SseParser parser;
  std::vector<std::string> events = parser.feed(input);
  if (auto last = parser.finish()) events.push_back(std::move(*last));
  return events;
}

void read_chat_stream(std::string_view input) {
  // A callback, so that the path that delivers text as it arrives runs too.
  mat::llm::ChatStreamReader reader([](std::string_view) {});
  try {
    // As the client does: stop feeding once the reader says the stream is over.
    mat::fuzz::for_each_piece(input,
                              [&reader](std::string_view piece) { return reader.feed(piece); });
    reader.finish();
  } catch (const mat::core::Error&) {
    // MalformedResponse (a core::Error): the documented outcome for a reply that is not a stream
    // of JSON chunks.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (events_in_pieces(input) != events_at_once(input)) __builtin_trap();
  read_chat_stream(input);
  return 0;
}

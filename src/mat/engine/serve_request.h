// The body of an OpenAI chat completions request, as `mat serve` accepts it: messages with text
// and image_url parts (data: URLs only: the server never fetches a URL on a client's behalf), the
// sampling fields, streaming. Anything it cannot honour is refused with the field named, never
// silently ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mat/core/error.h"
#include "mat/engine/sampling.h"
#include "mat/llm/chat_model.h"

namespace mat::engine {

// A request the server refuses: HTTP 400 with OpenAI's error body naming `param`.
class BadRequest : public core::Error {
 public:
  BadRequest(const std::string& message, std::string param)
      : core::Error(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

struct ChatRequest {
  std::string model;
  std::vector<llm::ChatMessage> messages;
  SamplingParams params;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
};

// Parses a request body. `default_max_tokens` applies when the request names none. Throws
// BadRequest for malformed JSON, a missing or mistyped field, an image that is not a data: URL
// of a known image type, n > 1, logprobs or tools.
ChatRequest parse_chat_request(std::string_view body, int default_max_tokens);

}  // namespace mat::engine

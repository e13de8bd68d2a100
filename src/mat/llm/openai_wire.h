// The OpenAI chat-completions wire format: the request body mat sends and the replies (whole or
// streamed as server-sent events) it reads back. Pure data handling, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/llm/chat_model.h"
#include "mat/llm/sse.h"

namespace mat::llm {

// A reply that is not what the API promises (not JSON, no choices, ...). `what()` says what is
// wrong and quotes the start of the offending text.
class MalformedResponse : public core::Error {
 public:
  using core::Error::Error;
};

// The body of POST /chat/completions. A message that is a single text part gets plain string
// content; any other message gets an array of text and image_url (data URL) parts. Optional
// parameters appear only when set; streaming asks for a final usage chunk.
core::Json build_chat_request_body(std::string_view model, const std::vector<ChatMessage>& messages,
                                   const GenerationParams& params, bool stream);

// The same body serialised for sending, fast: image data URLs are spliced in, not escaped.
std::string serialize_chat_request(std::string_view model, const std::vector<ChatMessage>& messages,
                                   const GenerationParams& params, bool stream);

// Reads a whole (non-streamed) chat.completion body: the first choice's text and finish reason,
// and the usage (zeros when the server sends none). Throws MalformedResponse.
ChatResult parse_chat_completion(std::string_view body);

// The message a server put in an error body: {"error": {"message": ...}}, {"error": "..."},
// {"message": ...} or {"detail": ...}; otherwise an excerpt of the body ("" when empty).
std::string server_error_message(std::string_view body);

// At most `max_chars` bytes of `text` on one line, marked when cut, as valid UTF-8 (invalid bytes
// become U+FFFD): for error messages.
std::string excerpt(std::string_view text, std::size_t max_chars = 200);

// Assembles a streamed chat completion from the bytes of its event stream, passing each piece of
// text to `on_token` as soon as it arrives.
class ChatStreamReader {
 public:
  explicit ChatStreamReader(TokenCallback on_token) : on_token_(std::move(on_token)) {}

  // Consumes the next bytes of the body. Returns false once the stream is over ("[DONE]" or an
  // error event), so the transfer can stop. Throws MalformedResponse for an event that is not a
  // JSON chunk.
  bool feed(std::string_view bytes);

  // Whether on_token has been given any text: after that a failed request cannot be retried
  // without the caller seeing the text twice.
  bool delivered_text() const { return delivered_text_; }

  // Whether the stream said it was over: "[DONE]", a finish reason or an error event. A stream
  // that just stops was cut off (a crashed server, a proxy's timeout).
  bool complete() const { return done_ || !result_.finish_reason.empty(); }

  // The message of an error event the server sent in the stream, if it sent one.
  const std::optional<std::string>& server_error() const { return server_error_; }

  // The body ended: the assembled result. A body with no events at all is read as a whole
  // chat.completion (servers that ignore "stream": true). Throws MalformedResponse.
  ChatResult finish();

 private:
  void take_event(const std::string& data);

  TokenCallback on_token_;
  SseParser parser_;
  ChatResult result_;
  std::string body_before_events_;  // kept until the first event, for the no-events fallback
  bool saw_event_ = false;
  bool done_ = false;
  bool delivered_text_ = false;
  std::optional<std::string> server_error_;
};

}  // namespace mat::llm

// Chat messages (text and image parts) and the ChatModel interface every model backend
// implements: the OpenAI-compatible HTTP client here, the libtorch engine in `engine`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/error.h"
#include "mat/core/image.h"

namespace mat::llm {

enum class Role { kSystem, kUser, kAssistant };
std::string_view role_name(Role role);  // "system", "user", "assistant"

// One part of a message. Images are shared, not copied: a run encodes each image once and every
// message that shows it points at the same encoding.
struct ContentPart {
  std::string text;                                 // used when image is null
  std::shared_ptr<const core::EncodedImage> image;  // non-null for an image part

  static ContentPart from_text(std::string text) { return {std::move(text), nullptr}; }
  static ContentPart from_image(std::shared_ptr<const core::EncodedImage> image) {
    return {"", std::move(image)};
  }
  bool is_image() const { return image != nullptr; }
};

struct ChatMessage {
  Role role = Role::kUser;
  std::vector<ContentPart> parts;

  static ChatMessage text(Role role, std::string text) {
    return {role, {ContentPart::from_text(std::move(text))}};
  }
  // All text parts joined (images left out); what a text-only log shows.
  std::string joined_text() const;
};

struct GenerationParams {
  std::vector<std::string> stop;  // generation ends before any of these
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> max_tokens;
  std::optional<int> seed;
  // The whole request, retries and backoff included, ends by then or fails with a ModelError that
  // says so (a tool's request must not outlive the step that made it).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct ChatResult {
  std::string text;           // the generated text (stop sequence not included)
  std::string finish_reason;  // "stop", "length", ... as the backend reports it
  Usage usage;
  double latency_ms = 0;  // wall time of the whole request, retries included
  int attempts = 1;       // how many HTTP attempts it took
};

// Who the model is, for the trajectory record.
struct ModelIdentity {
  std::string backend;  // "openai" | "local"
  std::string name;
  std::optional<std::string> adapter;
};

// Called with each piece of text as it is generated (streaming); may be empty.
using TokenCallback = std::function<void(std::string_view piece)>;

// Thrown when a model request fails for good. `retryable()` says whether the failure was
// transient (the retries ran out) or permanent (bad key, unknown model, malformed request).
class ModelError : public core::Error {
 public:
  ModelError(const std::string& message, int http_status, bool retryable)
      : core::Error(message), http_status_(http_status), retryable_(retryable) {}
  int http_status() const { return http_status_; }  // 0 when no HTTP response arrived
  bool retryable() const { return retryable_; }

 private:
  int http_status_;
  bool retryable_;
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // Generates the assistant's reply to `messages`. Throws ModelError on failure.
  virtual ChatResult chat(const std::vector<ChatMessage>& messages, const GenerationParams& params,
                          const TokenCallback& on_token = {}) = 0;
  virtual ModelIdentity identity() const = 0;
};

}  // namespace mat::llm

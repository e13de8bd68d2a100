// The ChatModel of any OpenAI-compatible server (OpenAI, vLLM, SGLang, llama-server, Ollama,
// LM Studio, `mat serve`): POST {base_url}/chat/completions, streamed or whole, with retries.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "mat/llm/chat_model.h"

namespace mat::llm {

struct OpenAIConfig {
  std::string base_url = "https://api.openai.com/v1";  // up to and including the version, "/v1"
  std::string api_key;  // sent as "Authorization: Bearer <key>" when non-empty
  std::string model;
  std::chrono::milliseconds connect_timeout{10'000};
  // One attempt, whole reply: what bounds a request that is not streamed. A stream is bounded by
  // idle_timeout instead (no bytes for that long), so a long healthy reply is never cut off.
  std::chrono::milliseconds request_timeout{600'000};
  std::chrono::milliseconds stream_timeout{0};  // whole streamed reply; 0: no limit
  std::chrono::milliseconds idle_timeout{60'000};
  int max_retries = 5;  // attempts after the first, for transient failures only
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};  // also caps a server's Retry-After
  bool stream = true;
  // Sent with every request after the standard ones, e.g. {"X-Mat-Stage", "queries"}.
  std::vector<std::pair<std::string, std::string>> extra_headers;

  // The defaults, with base_url from OPENAI_BASE_URL and api_key from OPENAI_API_KEY when those
  // are set. The model is left for the caller to choose.
  static OpenAIConfig from_env();
};

// Retries 408, 429, 5xx and transport failures (connection refused, timeouts, a stream that ends
// without [DONE] or a finish reason) with exponential backoff and full jitter, or after the
// server's Retry-After; other failures throw at once. A 5xx whose body repeats the previous
// attempt's is not retried again: the server is telling, not failing. A streamed reply that
// breaks after text reached `on_token` is not retried. Every failure throws ModelError with a
// message naming the server and passing its own message through; an interrupt request throws
// core::Interrupted. Safe for concurrent chat() calls.
class OpenAIChatModel : public ChatModel {
 public:
  // Throws core::Error when the config has no model or its base URL is not http(s).
  explicit OpenAIChatModel(OpenAIConfig config);

  ChatResult chat(const std::vector<ChatMessage>& messages, const GenerationParams& params,
                  const TokenCallback& on_token = {}) override;
  ModelIdentity identity() const override { return {"openai", config_.model, std::nullopt}; }
  const OpenAIConfig& config() const { return config_; }

 private:
  OpenAIConfig config_;
};

}  // namespace mat::llm

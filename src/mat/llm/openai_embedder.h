// The Embedder of any OpenAI-compatible server (OpenAI, vLLM, llama-server --embeddings, Ollama,
// LM Studio, text-embeddings-inference): POST {base_url}/embeddings, with retries.
#pragma once

#include <string>
#include <vector>

#include "mat/llm/embedder.h"
#include "mat/llm/openai_client.h"

namespace mat::llm {

// Uses the config's address, key, model, connect and request timeouts and retry settings; the
// streaming settings do not apply (an embeddings reply is never streamed). Retries 408, 429, 5xx
// and transport failures like the chat client; every failure throws ModelError naming the server.
// Safe for concurrent embed() calls.
class OpenAIEmbedder : public Embedder {
 public:
  // Throws core::Error when the config has no model or its base URL is not http(s).
  explicit OpenAIEmbedder(OpenAIConfig config);

  std::vector<Embedding> embed(const std::vector<std::string>& texts) override;
  std::string model_name() const override { return config_.model; }

 private:
  OpenAIConfig config_;
};

}  // namespace mat::llm

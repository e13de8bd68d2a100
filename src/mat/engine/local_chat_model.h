// llm::ChatModel backed by the in-process engine, so that the agent runs fully offline
// (`mat run --weights DIR [--lora DIR]`). Torch-free header.
#pragma once

#include <memory>
#include <string>

#include "mat/engine/local_engine.h"
#include "mat/llm/chat_model.h"

namespace mat::engine {

class LocalChatModel : public llm::ChatModel {
 public:
  // `adapter`: a name loaded on `engine` ("" for the base model). `defaults` fill what a request
  // leaves unset (temperature unset means greedy; max_tokens unset means defaults.max_tokens).
  LocalChatModel(std::shared_ptr<LocalEngine> engine, std::string adapter = {},
                 SamplingParams defaults = {});

  // Throws llm::ModelError (not retryable) when generation fails or the deadline passes.
  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token = {}) override;
  llm::ModelIdentity identity() const override;

 private:
  std::shared_ptr<LocalEngine> engine_;
  std::string adapter_;
  SamplingParams defaults_;
};

}  // namespace mat::engine

#include "mat/engine/local_chat_model.h"

#include <chrono>

namespace mat::engine {

LocalChatModel::LocalChatModel(std::shared_ptr<LocalEngine> engine, std::string adapter,
                               SamplingParams defaults)
    : engine_(std::move(engine)), adapter_(std::move(adapter)), defaults_(std::move(defaults)) {}

llm::ChatResult LocalChatModel::chat(const std::vector<llm::ChatMessage>& messages,
                                     const llm::GenerationParams& params,
                                     const llm::TokenCallback& on_token) {
  const auto start = std::chrono::steady_clock::now();
  SamplingParams p = defaults_;
  if (!params.stop.empty()) p.stop = params.stop;
  if (params.temperature) p.temperature = *params.temperature;
  if (params.top_p) p.top_p = *params.top_p;
  if (params.max_tokens) p.max_tokens = *params.max_tokens;
  if (params.seed) p.seed = static_cast<std::uint64_t>(*params.seed);
  CancelCheck cancel;
  if (params.deadline) {
    const auto deadline = *params.deadline;
    cancel = [deadline] { return std::chrono::steady_clock::now() >= deadline; };
  }
  GenerationResult r;
  try {
    const PromptInput prompt = engine_->prepare(messages);
    r = engine_->generate(prompt, p, adapter_, on_token, cancel);
  } catch (const core::Error& e) {
    throw llm::ModelError(std::string("local model: ") + e.what(), 0, false);
  }
  if (r.finish_reason == "cancelled") {
    throw llm::ModelError("local model: the request's deadline passed after " +
                              std::to_string(r.ids.size()) + " generated tokens",
                          0, false);
  }
  llm::ChatResult result;
  result.text = std::move(r.text);
  result.finish_reason = r.finish_reason;
  result.usage.prompt_tokens = r.prompt_tokens;
  result.usage.completion_tokens = static_cast<std::int64_t>(r.ids.size());
  result.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

llm::ModelIdentity LocalChatModel::identity() const {
  llm::ModelIdentity id;
  id.backend = "local";
  id.name = engine_->weights().filename().empty()
                ? engine_->weights().parent_path().filename().string()
                : engine_->weights().filename().string();
  if (!adapter_.empty()) id.adapter = adapter_;
  return id;
}

}  // namespace mat::engine

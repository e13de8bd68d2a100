// The in-process Qwen2-VL engine: a Hugging Face checkpoint folder loaded onto libtorch, LoRA
// adapters by name, chat messages in, generated text out. Torch-free header.
//
//   auto engine = LocalEngine::load("Qwen2-VL-2B-Instruct/", {.dtype = "bf16"});
//   engine->load_adapter("agent", "runs/lora/");
//   PromptInput prompt = engine->prepare(messages);
//   GenerationResult r = engine->generate(prompt, {.max_tokens = 512}, "agent",
//                                         [](std::string_view piece) { std::cout << piece; });
//
// The folder holds config.json, tokenizer.json, the safetensors weights (one file or shards with
// model.safetensors.index.json) and, optionally, preprocessor_config.json and
// generation_config.json. Every method is safe to call from several threads; one generation runs
// at a time (generate and generate_batch serialise callers).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mat/engine/generator.h"
#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/tokenizer.h"
#include "mat/llm/chat_model.h"

namespace mat::engine {

struct EngineOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:1" (CUDA needs a CUDA build of libtorch)
  std::string dtype = "bf16";  // "bf16", "f32" or "f16"
  int threads = 0;             // libtorch intra-op threads; 0 keeps its default
};

class LocalEngine {
 public:
  // Throws core::Error naming the file for anything missing or malformed, and for a device or
  // dtype this libtorch cannot use.
  static std::unique_ptr<LocalEngine> load(const std::filesystem::path& weights,
                                           const EngineOptions& options = {});
  ~LocalEngine();
  LocalEngine(const LocalEngine&) = delete;
  LocalEngine& operator=(const LocalEngine&) = delete;

  // A PEFT adapter folder under `name` (several may be loaded; each request picks one).
  void load_adapter(const std::string& name, const std::filesystem::path& dir);
  void unload_adapter(const std::string& name);
  std::vector<std::string> adapters() const;
  // When set, the adapter of a request is folded into the weights (faster per token; switching
  // adapters then costs a merge). Results equal the unmerged ones up to rounding.
  void set_merge_adapters(bool merge);

  // The prompt of chat messages: the Qwen2-VL chat template, each image decoded, preprocessed
  // and expanded to its <|image_pad|> tokens. Throws core::Error for an undecodable image.
  PromptInput prepare(const std::vector<llm::ChatMessage>& messages,
                      bool add_generation_prompt = true) const;

  // Generates with `adapter` ("" for the base model). When params.stop_token_ids is empty the
  // model's end-of-turn and eos tokens are used (in generate_batch too). A request alone keeps
  // its keys and values for the next one (see PromptCache): a prompt that begins as the last one
  // did prefills only the rest. model() users that change the weights must not rely on that.
  GenerationResult generate(const PromptInput& prompt, const SamplingParams& params,
                            const std::string& adapter = {}, const TextCallback& on_text = {},
                            const CancelCheck& cancel = {});

  // Several requests decoded together as one batch with `adapter` (see generate_batch in
  // generator.h): one weight read per step for all of them.
  std::vector<GenerationResult> generate_batch(std::vector<GenerationRequest> requests,
                                               const std::string& adapter = {});

  std::vector<std::int32_t> default_stop_token_ids() const;
  const Tokenizer& tokenizer() const;
  const Qwen2VLConfig& config() const;
  const std::filesystem::path& weights() const;
  // The libtorch model (for tests and the trainer; include qwen2vl_model.h to use it).
  Qwen2VLModelImpl& model();

 private:
  struct Impl;
  explicit LocalEngine(std::unique_ptr<Impl> impl);
  // Makes `adapter` the active one (merged when set_merge_adapters says so). Caller holds the
  // lock.
  void activate(const std::string& adapter);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mat::engine

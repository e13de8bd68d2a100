// Text generation with Qwen2-VL: the prompt (and its images, encoded once) in one forward pass
// that fills a KV cache, then one token at a time, sampled as SamplingParams say, streamed as
// text, ended by a stop token, a stop string or max_tokens. Several requests can decode as one
// batch: each step then reads the weights once for all of them, which is what decoding on a CPU
// is bound by.
//
// Torch-free header: the model is forward-declared.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mat/engine/image_processor.h"
#include "mat/engine/sampling.h"
#include "mat/engine/tokenizer.h"

namespace mat::engine {

class Qwen2VLModelImpl;

// A tokenised prompt: ids with each image expanded to its <|image_pad|> run, and the images in
// the order they appear.
struct PromptInput {
  std::vector<std::int32_t> ids;
  std::vector<ProcessedImage> images;
};

struct GenerationResult {
  std::vector<std::int32_t> ids;  // generated tokens, the stop token included when one ended it
  std::string text;               // their text, without the stop token or stop string
  std::string finish_reason;      // "stop" | "length" | "cancelled"
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_tokens = 0;  // of the prompt's, taken from a PromptCache, not computed
  double prefill_ms = 0;           // the prompt's forward pass, images included
  double decode_ms = 0;            // the tokens after the first
};

// Receives each piece of text as soon as it can no longer become part of a stop string.
using TextCallback = std::function<void(std::string_view piece)>;
// Polled between tokens; returning true ends generation with finish_reason "cancelled".
using CancelCheck = std::function<bool()>;

// Generates from `prompt` on `model`. Throws core::Error when the prompt does not fit the images
// or the model's context.
GenerationResult generate(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                          const PromptInput& prompt, const SamplingParams& params,
                          const TextCallback& on_text = {}, const CancelCheck& cancel = {});

// The keys and values of the last sequence generated alone, with the tokens and images they
// belong to. A prompt that begins with the same tokens and images, as an agent's next step does
// (the whole conversation again, one turn longer), then prefills only what follows them. One
// generation at a time may use it; it assumes the model's weights (and adapter) stay the same
// while it is kept.
class PromptCache {
 public:
  PromptCache();
  ~PromptCache();
  PromptCache(const PromptCache&) = delete;
  PromptCache& operator=(const PromptCache&) = delete;

  void clear();

  struct State;  // the generator's
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// One sequence of a batch. The prompt is not owned: it must outlive the call.
struct GenerationRequest {
  const PromptInput* prompt = nullptr;
  SamplingParams params;
  TextCallback on_text;
  CancelCheck cancel;  // ends this sequence only
};

// Generates every request together: each prompt's forward pass on its own (no padding is
// computed), then one decoding step for all sequences at a time, shorter prompts left-padded in
// the shared KV cache and masked out. Each result equals generate() of that request alone, up to
// the rounding of a different summation order. Throws core::Error as generate() does, naming the
// request. With `cache`, a single request reuses the cached keys and values its prompt begins
// with and leaves its own in the cache (a batch of several neither reads nor changes it).
std::vector<GenerationResult> generate_batch(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                                             const std::vector<GenerationRequest>& requests,
                                             PromptCache* cache = nullptr);

}  // namespace mat::engine

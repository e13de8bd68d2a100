// Choosing the next token from logits, and turning generated tokens into streamed text that
// stops at stop strings. Plain C++ (no libtorch): logits arrive as a float vector.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mat::engine {

struct SamplingParams {
  int max_tokens = 256;
  double temperature = 0.0;           // <= 0: greedy (argmax)
  int top_k = 0;                      // 0: off
  double top_p = 1.0;                 // 1: off
  double repetition_penalty = 1.0;    // 1: off; HF's rule over prompt and generated tokens
  std::optional<std::uint64_t> seed;  // none: a random seed
  std::vector<std::string> stop;      // generation ends before any of these texts
  // Token ids that end generation (the model's end-of-turn/eos ids); empty: only max_tokens and
  // stop strings end it.
  std::vector<std::int32_t> stop_token_ids;
};

// Applies repetition penalty, temperature, top-k and top-p in the order Hugging Face's
// generate does, then samples (or takes the argmax when greedy).
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // `logits` is modified in place; `history` holds the prompt and the tokens generated so far.
  std::int32_t next(std::vector<float>& logits, std::span<const std::int32_t> history);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

// Holds back text that may still become a stop string or is an incomplete UTF-8 character, and
// releases the rest. Feed it the decoded text of all generated tokens after each token.
class StopStreamer {
 public:
  explicit StopStreamer(std::vector<std::string> stop);
  // The newly releasable text, given the full decoded text so far. Sets stopped() when a stop
  // string appears; the text before it is then released and everything after dropped.
  std::string update(const std::string& text);
  // The rest of the text at the end of generation (what was held back), unless stopped.
  std::string finish(const std::string& text);
  bool stopped() const { return stopped_; }
  // The final text: everything released.
  const std::string& text() const { return released_; }

 private:
  std::vector<std::string> stop_;
  std::string released_;
  bool stopped_ = false;
};

}  // namespace mat::engine

// Trains a byte-level BPE vocabulary the way Qwen2's tokenizer is built (NFC, Qwen2's split
// pattern, bytes as GPT-2's alphabet, the Qwen2-VL chat and vision tokens as special added
// tokens after the vocabulary) and writes it as a Hugging Face tokenizer.json, which mat's
// Tokenizer and the `tokenizers` library load with the same ids. Torch-free.
//
//   BpeTrainer trainer({.vocab_size = 8192});
//   trainer.add_text(source_code);                 // counts the pre-tokenizer's words
//   trainer.train();                               // merges the most frequent pairs
//   core::write_json_file("tokenizer.json", trainer.tokenizer_json());
//
// Deterministic: the same texts (in any order) give the same file. Words are counted once; the
// merges run on an incremental pair-count index (each merge touches only the words holding the
// pair), so a few MB train in seconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mat/core/json.h"

namespace mat::engine {

// The added tokens of Qwen2-VL's tokenizer, in its id order (<|endoftext|>, <|im_start|>,
// <|im_end|>, ..., <|vision_start|>, <|vision_end|>, <|vision_pad|>, <|image_pad|>, <|video_pad|>).
const std::vector<std::string>& qwen2vl_special_tokens();

struct BpeTrainerOptions {
  std::size_t vocab_size = 8192;  // every id: the 256 bytes, the merges and the special tokens
  std::int64_t min_count = 2;     // a pair seen fewer times is not merged
};

class BpeTrainer {
 public:
  // Throws core::Error when vocab_size leaves no room beyond the bytes and special tokens.
  explicit BpeTrainer(const BpeTrainerOptions& options);
  ~BpeTrainer();
  BpeTrainer(BpeTrainer&&) noexcept;
  BpeTrainer& operator=(BpeTrainer&&) noexcept;

  // Counts the words of `text` (special tokens written in it are left out, as in encoding).
  void add_text(std::string_view text);
  // Learns merges until the vocabulary is full or no pair occurs min_count times.
  void train();

  std::size_t distinct_words() const;
  std::size_t merges() const;
  // The vocabulary with the special tokens: the tokenizer's largest id + 1.
  std::size_t vocab_size() const;
  // Each distinct word (its bytes) and the ids training split it into, sorted by word.
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> segmented_words() const;
  // tokenizer.json: before train(), the bytes-only tokenizer that add_text splits with.
  core::Json tokenizer_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mat::engine

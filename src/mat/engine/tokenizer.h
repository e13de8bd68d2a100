// The byte-level BPE tokenizer of a Hugging Face tokenizer.json (Qwen2, GPT-2 style): added and
// special tokens matched first, NFC normalisation, the pre-tokenizer's split pattern, byte-level
// symbols, merges by rank. Gives the same ids as the `tokenizers` library, some 50 times faster on
// one core (bench/tokenizer_bench: Qwen2's split pattern is matched by hand, NFC runs only where
// its quick check fails, and a fixed-size cache keeps the ids of recent words).
//
//   auto tok = Tokenizer::load("model/tokenizer.json");
//   std::vector<std::int32_t> ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
//   std::string text = tok.decode(ids);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/json.h"

namespace mat::engine {

class Tokenizer {
 public:
  // Reads tokenizer.json. Throws core::Error naming the file when it is missing, not JSON, or
  // uses a component mat does not implement (it says which).
  static Tokenizer load(const std::filesystem::path& path);
  static Tokenizer from_json(const core::Json& json, const std::string& name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Token ids of `text`; added tokens written in the text (e.g. "<|im_start|>") become their ids.
  // Invalid UTF-8 is first replaced by U+FFFD. Thread-safe.
  std::vector<std::int32_t> encode(std::string_view text) const;

  // The words BPE sees in `text`, in order, as bytes: added tokens left out, the rest normalised
  // and split by the pre-tokenizer. What a vocabulary is trained on (tokenizer_trainer.h).
  void pre_tokenize(std::string_view text, const std::function<void(std::string_view)>& word) const;

  // The text of `ids`; ids outside the vocabulary are skipped, invalid UTF-8 from partial byte
  // tokens becomes U+FFFD.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const;

  // `text` as the model sees it after the normaliser (NFC for Qwen2), before splitting. Decoding
  // the ids of a text gives back its normalised form.
  std::string normalize(std::string_view text) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // The token's string as the vocabulary spells it (byte-level symbols); empty when unknown.
  std::string id_to_token(std::int32_t id) const;
  bool is_special(std::int32_t id) const;
  // One more than the largest id (model vocabulary and added tokens).
  std::size_t vocab_size() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The byte-level spelling of `bytes`, as vocabularies and merges write tokens (GPT-2's alphabet:
// printable bytes stand for themselves, the other 68 are shifted to U+0100 and up).
std::string byte_level_spelling(std::string_view bytes);

}  // namespace mat::engine

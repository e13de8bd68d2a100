// A deterministic stand-in for an embedding model in the synth tests: a text's vector counts its
// words, each hashed to one of kWordDims dimensions, so texts that share most words are close
// (cosine near 1) and texts that share none are orthogonal.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/llm/embedder.h"

namespace mat::testing {

inline constexpr size_t kWordDims = 256;

inline llm::Embedding word_vector(const std::string& text) {
  llm::Embedding vector(kWordDims, 0.0f);
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  bool in_word = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool letter = i < text.size() && std::isalnum(static_cast<unsigned char>(text[i])) != 0;
    if (letter) {
      hash = (hash ^ static_cast<unsigned char>(std::tolower(text[i]))) * 0x100000001b3ULL;
      in_word = true;
    } else if (in_word) {
      vector[hash % kWordDims] += 1.0f;
      hash = 0xcbf29ce484222325ULL;
      in_word = false;
    }
  }
  return vector;
}

// The body of an OpenAI /v1/embeddings reply to `request` (its "input" list) in word vectors.
inline std::string word_embeddings_body(const core::Json& request) {
  core::Json data = core::Json::array();
  const core::Json input = request.value("input", core::Json::array());
  for (size_t i = 0; i < input.size(); ++i) {
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", word_vector(input[i].get<std::string>())}});
  }
  return core::Json{{"object", "list"},
                    {"data", data},
                    {"model", "word-embedder"},
                    {"usage", {{"prompt_tokens", 1}, {"total_tokens", 1}}}}
      .dump();
}

// The same vectors in process, counting the texts it was asked for.
class WordEmbedder : public llm::Embedder {
 public:
  std::vector<llm::Embedding> embed(const std::vector<std::string>& texts) override {
    std::vector<llm::Embedding> vectors;
    for (const std::string& text : texts) vectors.push_back(word_vector(text));
    texts_embedded += texts.size();
    ++calls;
    return vectors;
  }
  std::string model_name() const override { return "word-embedder"; }
  size_t texts_embedded = 0;
  size_t calls = 0;
};

}  // namespace mat::testing

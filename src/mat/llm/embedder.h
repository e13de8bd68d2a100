// Text embeddings: one vector per text, from any implementation (the OpenAI-compatible client in
// openai_embedder.h; a local engine later). Used where meaning must be compared, not wording, such
// as GTA's subjective answers.
#pragma once

#include <string>
#include <vector>

namespace mat::llm {

using Embedding = std::vector<float>;

class Embedder {
 public:
  virtual ~Embedder() = default;
  // One embedding per text, in the order given, all of the same length. Throws ModelError.
  virtual std::vector<Embedding> embed(const std::vector<std::string>& texts) = 0;
  // The model's name, for reports: scores from different embedding models do not compare.
  virtual std::string model_name() const = 0;
};

// The cosine of the angle between `a` and `b` (1: same direction); 0 when either is all zeros.
// Throws core::Error when their lengths differ.
double cosine_similarity(const Embedding& a, const Embedding& b);

}  // namespace mat::llm

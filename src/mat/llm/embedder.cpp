#include "mat/llm/embedder.h"

#include <cmath>

#include "mat/core/error.h"

namespace mat::llm {

double cosine_similarity(const Embedding& a, const Embedding& b) {
  if (a.size() != b.size()) {
    throw core::Error("cannot compare embeddings of different lengths (" +
                      std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                      "): they come from different models");
  }
  // Accumulated in double: sums over a thousand float products lose digits in float.
  double dot = 0, norm_a = 0, norm_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    norm_a += double{a[i]} * a[i];
    norm_b += double{b[i]} * b[i];
  }
  if (norm_a == 0 || norm_b == 0) return 0;
  return dot / (std::sqrt(norm_a) * std::sqrt(norm_b));
}

}  // namespace mat::llm

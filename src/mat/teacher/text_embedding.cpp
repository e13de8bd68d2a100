#include "mat/teacher/text_embedding.h"

#include <cctype>
#include <cmath>
#include <string>

#include "mat/teacher/draw.h"

namespace mat::teacher {
namespace {

void add(std::vector<float>& vector, std::string_view feature, float weight) {
  const std::uint64_t hash = hash_of(0, {feature});
  // The sign from another bit keeps hashed collisions from adding up to a bias.
  vector[hash % kEmbeddingDim] += (hash >> 63) != 0U ? weight : -weight;
}

// Ends a word; a sentence's full stop is not part of it.
void flush(std::vector<std::string>& words, std::string& word) {
  while (!word.empty() && word.back() == '.') word.pop_back();
  if (!word.empty()) words.push_back(word);
  word.clear();
}

}  // namespace

std::vector<float> embed_text(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    flush(words, word);
  }
  flush(words, word);
  std::vector<float> vector(kEmbeddingDim, 0.0F);
  for (size_t i = 0; i < words.size(); ++i) {
    const bool has_digit = words[i].find_first_of("0123456789") != std::string::npos;
    add(vector, words[i], has_digit ? 3.0F : 1.0F);
    if (i + 1 < words.size()) add(vector, words[i] + " " + words[i + 1], 1.0F);
  }
  double norm = 0;
  for (const float value : vector) norm += static_cast<double>(value) * value;
  if (norm > 0) {
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& value : vector) value *= scale;
  }
  return vector;
}

}  // namespace mat::teacher

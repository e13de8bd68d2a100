#include "mat/eval/gta_scorer.h"

#include <algorithm>

#include "mat/eval/text.h"

namespace mat::eval {

namespace {

// Python's \b at `i`: a word character on exactly one side (the ends count as non-word).
bool word_boundary_at(const std::u32string& text, size_t i) {
  const bool before = i > 0 && is_word_char(text[i - 1]);
  const bool after = i < text.size() && is_word_char(text[i]);
  return before != after;
}

bool any_alias(const std::vector<std::string>& aliases, const auto& matches) {
  return std::any_of(aliases.begin(), aliases.end(), matches);
}

bool begins_or_ends_with_non_word(std::string_view alias) {
  const std::u32string text = decode_utf8(alias);
  return text.empty() || !is_word_char(text.front()) || !is_word_char(text.back());
}

}  // namespace

bool matches_at_word_boundaries(std::string_view answer, std::string_view alias) {
  // Boundaries are read on the answer as written; the comparison on lower-cased code points,
  // which keeps positions aligned (simple case mapping is one code point to one).
  const std::u32string text = decode_utf8(answer);
  const std::u32string lowered = to_lower(text);
  const std::u32string needle = to_lower(decode_utf8(alias));
  if (needle.size() > text.size()) return false;
  for (size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (word_boundary_at(text, i) && lowered.compare(i, needle.size(), needle) == 0 &&
        word_boundary_at(text, i + needle.size())) {
      return true;
    }
  }
  return false;
}

bool official_correct(std::string_view answer, const AliasGroups& whitelist,
                      const AliasGroups& blacklist) {
  const auto matches = [answer](const std::string& alias) {
    return matches_at_word_boundaries(answer, alias);
  };
  const bool all_found = std::all_of(whitelist.begin(), whitelist.end(),
                                     [&](const auto& group) { return any_alias(group, matches); });
  const bool excluded = std::any_of(blacklist.begin(), blacklist.end(),
                                    [&](const auto& group) { return any_alias(group, matches); });
  return all_found && !excluded;
}

bool mat_correct(std::string_view answer, const AliasGroups& whitelist) {
  const std::u32string lowered = to_lower(decode_utf8(answer));
  const auto contains = [&lowered](const std::string& alias) {
    return lowered.find(to_lower(decode_utf8(alias))) != std::u32string::npos;
  };
  return std::all_of(whitelist.begin(), whitelist.end(),
                     [&](const auto& group) { return any_alias(group, contains); });
}

bool has_boundary_quirk(const AliasGroups& whitelist) {
  return std::any_of(whitelist.begin(), whitelist.end(), [](const auto& group) {
    return std::all_of(group.begin(), group.end(), begins_or_ends_with_non_word);
  });
}

double subjective_score(const std::string& answer, const std::vector<std::string>& references,
                        llm::Embedder& embedder) {
  std::vector<std::string> texts{answer};
  texts.insert(texts.end(), references.begin(), references.end());
  const std::vector<llm::Embedding> embeddings = embedder.embed(texts);
  double best = 0;  // max(similarity, 0): an opposite meaning scores like an unrelated one
  for (size_t i = 1; i < embeddings.size(); ++i) {
    best = std::max(best, llm::cosine_similarity(embeddings[0], embeddings[i]));
  }
  return best;
}

}  // namespace mat::eval

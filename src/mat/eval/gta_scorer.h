// GTA's answer rules, one query at a time (../shared/spec/benchmarks.md). The official rules are
// those of the OpenCompass GTA evaluator, reproduced with Python's notion of case, word
// characters and code points (text.h), so that a score here is the score there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mat/eval/gta_dataset.h"
#include "mat/llm/embedder.h"

namespace mat::eval {

// Whether `alias` occurs in `answer` case-insensitively with a word boundary on both sides, as
// re.search(r'\b' + re.escape(alias) + r'\b', answer, re.IGNORECASE) finds it.
bool matches_at_word_boundaries(std::string_view answer, std::string_view alias);

// The official objective scorer: every whitelist group has an alias that matches at word
// boundaries, and no blacklist alias (of any group) does.
bool official_correct(std::string_view answer, const AliasGroups& whitelist,
                      const AliasGroups& blacklist);

// MAT's lenient scorer: every whitelist group has an alias that is a case-insensitive substring
// of `answer`. The blacklist is ignored, and "4" is found in "14".
bool mat_correct(std::string_view answer, const AliasGroups& whitelist);

// Whether some whitelist group has only aliases that begin or end with a non-word character
// ("-2", "50%", "$2697"). Word boundaries need a word character on the other side, so the official
// scorer cannot match such a group where the answer writes it plainly ("It is -2."): a quirk of
// the official scorer that reports count rather than hide.
bool has_boundary_quirk(const AliasGroups& whitelist);

// The official subjective score: the largest max(cosine similarity, 0) between the embeddings of
// `answer` and of each reference. One request to `embedder`. Throws llm::ModelError.
double subjective_score(const std::string& answer, const std::vector<std::string>& references,
                        llm::Embedder& embedder);

}  // namespace mat::eval

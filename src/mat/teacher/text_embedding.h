// The offline teacher's /v1/embeddings: a deterministic text embedding (hashed word unigrams and
// bigrams, L2-normalised). Identical texts embed identically, so a description equal to a pool
// caption retrieves exactly that image; words with digits (file names, numbers) weigh more, so
// two queries of one phrasing about different files stay below synth's near-duplicate cosine.
#pragma once

#include <string_view>
#include <vector>

namespace mat::teacher {

inline constexpr int kEmbeddingDim = 256;

std::vector<float> embed_text(std::string_view text);

}  // namespace mat::teacher

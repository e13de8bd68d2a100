// MAT's second chance for GAIA answers, kept apart from the official score: each wrong answer is
// rewritten by a language model into the form the question asks for (a bare number, a short
// list, a few words), without the model seeing the reference, and scored again. MAT's numbers
// used it; a report shows it only under its own label, next to the official accuracy.
#pragma once

#include "mat/eval/gaia_dataset.h"
#include "mat/eval/gaia_scores.h"
#include "mat/eval/predictions.h"
#include "mat/llm/chat_model.h"

namespace mat::eval {

struct ReformattedGaia {
  Predictions predictions;  // the wrong answers rewritten, the others as they were
  int rewritten = 0;        // how many answers the model rewrote
  GaiaScores scores;        // the official scorer on `predictions`
};

// Rewrites the answers that `official` scored wrong (missing answers stay missing). Throws
// llm::ModelError when the model fails.
ReformattedGaia reformat_and_rescore(const GaiaDataset& dataset, const Predictions& predictions,
                                     const GaiaScores& official, llm::ChatModel& model);

}  // namespace mat::eval

// The scores of `mat eval score` as tables for a terminal: every figure labelled with the scorer
// that made it, and what was not scored said with the reason.
#pragma once

#include <ostream>

#include "mat/eval/gaia_scores.h"
#include "mat/eval/gta_scores.h"

namespace mat::cli {

void print_gta_table(std::ostream& out, const eval::GtaScores& scores);
void print_gaia_table(std::ostream& out, const eval::GaiaScores& scores);

}  // namespace mat::cli

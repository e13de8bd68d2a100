// The dataset card an export writes beside its data: OUT/card.json (the numbers), OUT/card.md
// (the same for people, with the charts) and small hand-written SVG bar charts under OUT/card/:
// tasks, files by type, tools by frequency, steps per trajectory, acceptance per stage with the
// main rejection reasons, tokens and cost.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mat/core/json.h"
#include "mat/synth/store.h"

namespace mat::synth {

// The numbers of the card of `run_dir`'s export (what export takes: accepted, final answer).
core::Json card_json(const std::filesystem::path& run_dir, Store& store);

// Writes OUT/card.json, OUT/card.md and OUT/card/*.svg. Throws core::Error when OUT cannot be
// written.
void write_card(const std::filesystem::path& run_dir, Store& store,
                const std::filesystem::path& out);

// A horizontal bar chart of `bars` (label, value), values printed at the bars' ends.
std::string bar_chart_svg(const std::string& title,
                          const std::vector<std::pair<std::string, double>>& bars);

}  // namespace mat::synth

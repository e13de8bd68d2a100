// `mat eval …`: benchmarks. `mat eval score gta|gaia --data FILE --predictions FILE [--json]`
// scores a model's answers with the official scorers (and MAT's lenient GTA scorer, labelled).
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_eval_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

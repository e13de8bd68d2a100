// `mat synth init|run|status|export`: the MM-Traj data synthesis pipeline (src/mat/synth/) over a
// run folder. `init` writes RUN/config.json and the store; `run` makes query batches and moves
// every task through the verifiers and the agent, resumably and in parallel; `status` counts
// what the store holds; `export` writes the accepted trajectories.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_synth_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

// `mat run TASK [--file F]... --model M [--out run.json]`: one agent run against a model.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace mat::cli {

// Adds the `run` subcommand to `app`; `exit_code` receives the command's result when it ran
// (0: the run ended with final_answer, 1: it did not, 2: bad usage or missing configuration).
void add_run_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

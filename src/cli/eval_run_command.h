// `mat eval gta|gaia --data DIR --out RUNDIR [model flags]`: the agent on every task of a
// benchmark, one trajectory record per task in RUNDIR, resumable, --jobs in parallel, with a
// progress line per task and the running accuracy; then report.json, report.md and report.html.
// `mat eval report RUNDIR` writes the report again from the records; `mat eval compare RUNDIR...`
// puts runs side by side.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

// Adds gta, gaia, report and compare under `eval`.
void add_eval_run_commands(CLI::App& eval, int& exit_code);

}  // namespace mat::cli

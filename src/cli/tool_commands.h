// `mat tools` (list the tools the agent can call) and `mat tool NAME --arg value ...` (run one).
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_tool_commands(CLI::App& app, int& exit_code);

}  // namespace mat::cli

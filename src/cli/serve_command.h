// `mat serve --weights DIR [--lora NAME=DIR]... [--host H] [--port N]`: the local Qwen2-VL
// engine behind an OpenAI-compatible HTTP API until Ctrl-C or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

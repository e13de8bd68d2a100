// `mat generate --weights DIR [--lora DIR] [--image PATH]... PROMPT`: one reply from the local
// Qwen2-VL engine, streamed to stdout.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_generate_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

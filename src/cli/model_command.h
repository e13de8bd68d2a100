// `mat model init --tokenizer FILE --out DIR [sizes]`: a randomly initialised Qwen2-VL
// checkpoint folder (the tiny controller before pretraining).
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_model_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

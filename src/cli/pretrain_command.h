// `mat pretrain --model DIR --corpus PATH... --out DIR (--minutes M | --steps N)`: full-parameter
// causal-LM pretraining of a checkpoint's language model on text (see train/pretrainer.h).
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_pretrain_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

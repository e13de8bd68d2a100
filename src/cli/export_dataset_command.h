// `mat export-dataset --data FILE|DIR --format llamafactory|swift --out DIR`: the training
// samples `mat train` would read, written for LLaMA-Factory or ms-swift (distributed training
// with DeepSpeed), images copied beside.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_export_dataset_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

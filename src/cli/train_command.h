// `mat train --base DIR --data FILE|DIR --out DIR [...]`: LoRA fine-tuning of the local Qwen2-VL
// on trajectories (the adapter in PEFT's format, train_log.jsonl, loss.svg, checkpoints), and
// `mat train --merge --base DIR --lora DIR --out DIR`: the adapter folded into a full checkpoint.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_train_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

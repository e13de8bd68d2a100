// `mat tokenizer train --corpus PATH... --vocab-size N --out FILE`: a byte-level BPE tokenizer
// (Qwen2's rules and Qwen2-VL's special tokens) trained on text files, as tokenizer.json.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_tokenizer_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

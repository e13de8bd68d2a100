// `mat train --merge`: a base checkpoint with a LoRA adapter folded into its weights, written as
// a Hugging Face checkpoint folder that `mat run --weights` (and transformers) load like the
// base. Torch-free header.
#pragma once

#include <filesystem>

namespace mat::train {

// Loads `base` in its own dtype, applies the PEFT adapter in `lora`, merges it (W + scale * B A
// computed in float32, rounded once to the dtype) and writes `out`/model.safetensors in the base's
// tensor naming scheme, with every other file of `base` (config, tokenizer, processor) copied.
// Throws core::Error naming the folder for a missing or mismatched base or adapter, and when
// `out` is `base`.
void write_merged_model(const std::filesystem::path& base, const std::filesystem::path& lora,
                        const std::filesystem::path& out);

}  // namespace mat::train

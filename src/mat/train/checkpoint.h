// A training checkpoint folder: the trained tensors (the adapter's, by PEFT's names, or with
// --full the language model's), the AdamW state, the CPU random generator (dropout) and
// checkpoint.json (the optimizer steps done and the run's options).
// The data position and the scheduler follow from the step count (the sample order of every
// epoch is a function of the seed). Written to a temporary folder and renamed into place, so that
// an interrupted save leaves the previous checkpoint intact. Torch header: trainer only.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/train/adamw.h"

namespace mat::train {

void save_checkpoint(const std::filesystem::path& dir,
                     const std::map<std::string, torch::Tensor>& trained, const AdamW& optimizer,
                     std::int64_t step, const core::Json& options);

// Restores the trained tensors, optimizer and generator; returns the step count. Throws
// core::Error naming the folder when it is missing or incomplete, or when its options differ from
// `options`.
std::int64_t load_checkpoint(const std::filesystem::path& dir,
                             const std::map<std::string, torch::Tensor>& trained, AdamW& optimizer,
                             const core::Json& options);

}  // namespace mat::train

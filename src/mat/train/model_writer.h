// A Qwen2-VL model written back as a Hugging Face checkpoint folder: model.safetensors in a
// given dtype and tensor naming scheme, beside the other files of the folder it came from
// (config, tokenizer, processor). What `mat train --merge`, `mat model init` and `mat pretrain`
// write. Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include <filesystem>

#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"

namespace mat::train {

struct CheckpointFormat {
  torch::Dtype dtype = torch::kFloat32;
  engine::DType file_dtype = engine::DType::kF32;
  engine::TensorNaming naming = engine::TensorNaming::kModern;
};

// The dtype of the checkpoint's weights (the first floating tensor's) and its naming scheme.
CheckpointFormat checkpoint_format(const std::filesystem::path& dir);

// Writes every parameter of `model` except LoRA adapters to `file` (the patch embedding as the
// Conv3d the reference stores).
void write_model_weights(engine::Qwen2VLModelImpl& model, const std::filesystem::path& file,
                         const CheckpointFormat& format);

// Copies every file of the checkpoint folder `from` into `to` but its weights and the records of
// how it was trained (train_log.jsonl, loss.svg, train_config.json, pretrain_config.json).
void copy_model_files(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace mat::train

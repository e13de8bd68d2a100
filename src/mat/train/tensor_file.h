// Named float32 tensors to and from a safetensors file: the trainer's adapters, gradients and
// optimizer state. Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace mat::train {

// Writes every tensor as F32 (converted and made contiguous), atomically. Throws core::Error on
// an I/O failure.
void write_tensor_file(const std::filesystem::path& path,
                       const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of a safetensors file as float32 CPU tensors. Throws core::Error naming the
// file for a missing or invalid file.
std::map<std::string, torch::Tensor> read_tensor_file(const std::filesystem::path& path);

}  // namespace mat::train

// Trainable LoRA adapters on a loaded Qwen2-VL model, initialised as PEFT initialises them, and
// the adapter folder in PEFT's format that the training produces.
//
//   LoraSpec spec{.rank = 64, .alpha = 64, .targets = {"q_proj", "k_proj", "v_proj"}};
//   std::vector<LoraModule> modules = attach_lora(*model, spec);   // A, B: fp32, trainable
//   ... train ...
//   write_peft_adapter("out/", modules, spec);   // adapter_config.json + adapter_model.safetensors
//
// Only the language model is adapted: the vision tower stays frozen. Torch header: include it only
// from the trainer.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "mat/engine/qwen2vl_model.h"
#include "mat/train/train_options.h"

namespace mat::train {

inline constexpr const char* kTrainAdapter = "train";  // the adapter's name on the model

// One adapted linear layer.
struct LoraModule {
  std::string
      name;  // the Hugging Face module name, e.g. model.language_model.layers.0.self_attn.q_proj
  torch::Tensor a;  // [r, in] float32, the live parameter
  torch::Tensor b;  // [out, r]
};

// Adds a trainable adapter to every decoder linear layer whose last name part is in spec.targets,
// with PEFT's default initialisation (A kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in),
// 1/sqrt(in)), drawn from torch's default generator; B zeros) and makes it active. Every other
// parameter is frozen. Throws core::Error when a target matches no layer.
std::vector<LoraModule> attach_lora(engine::Qwen2VLModelImpl& model, const LoraSpec& spec);

// Makes the adapter of a PEFT folder the trainable adapter (same modules as attach_lora would
// give for the folder's target_modules; fp32). For training on from a known adapter.
std::vector<LoraModule> attach_lora_from(engine::Qwen2VLModelImpl& model,
                                         const std::filesystem::path& dir, double dropout = 0.0);

// PEFT's tensor names: "base_model.model.<module>.lora_A.weight" / "...lora_B.weight".
std::map<std::string, torch::Tensor> peft_tensors(const std::vector<LoraModule>& modules);

// Writes adapter_config.json and adapter_model.safetensors (float32) into `dir` (created).
void write_peft_adapter(const std::filesystem::path& dir, const std::vector<LoraModule>& modules,
                        const LoraSpec& spec);

}  // namespace mat::train

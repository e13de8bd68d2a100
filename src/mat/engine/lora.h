// A linear layer that carries LoRA adapters, and PEFT's adapter format.
//
// LoraLinear holds the frozen base weight (and bias) of an nn.Linear, created without
// initialisation in the model's dtype and device (the checkpoint fills it), plus any number of
// named adapters, each a pair of torch::nn::Linear modules (A: in -> r, B: r -> out, no bias)
// registered as trainable submodules. One adapter is active at a time:
//
//   y = x W^T + b + scale * B(A(x))          (unmerged, what training uses)
//   W' = W + scale * B A                      (merged: no extra cost per token; undone exactly)
//
// PEFT's format: adapter_config.json (r, lora_alpha, use_rslora, target_modules, ...) and
// adapter_model.safetensors with tensors "base_model.model.<module>.lora_A.weight" / ".lora_B".
//
// Torch header: include it only from the engine and the trainer.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mat::engine {

class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias,
                 const torch::TensorOptions& options);

  torch::Tensor forward(const torch::Tensor& x);

  // Adds an adapter (A: [r, in], B: [out, r]) under `name`; its modules are registered as
  // "lora_<name>_A" / "_B". Replaces an adapter of the same name. A `trainable` adapter requires
  // gradients and is kept in float32 whatever the base dtype (the optimizer updates fp32 master
  // weights; bf16 would round small updates away); its input goes through dropout with
  // probability `dropout` in training mode, as PEFT's lora_dropout. Inference adapters take the
  // weight's dtype.
  void add_adapter(const std::string& name, const torch::Tensor& a, const torch::Tensor& b,
                   double scale, bool trainable = false, double dropout = 0.0);
  void remove_adapter(const std::string& name);
  bool has_adapter(const std::string& name) const { return adapters_.count(name) != 0; }
  // The A and B weights of an adapter (the live parameters, not copies). Throws core::Error for
  // an unknown name.
  std::pair<torch::Tensor, torch::Tensor> adapter_weights(const std::string& name) const;
  // The adapter applied by forward; "" for none. Throws core::Error for an unknown name.
  void set_active(const std::string& name);
  const std::string& active() const { return active_; }
  // Folds the active adapter into the weight (a copy of the weight is kept so that unmerge
  // restores it bit for bit). No-op without an active adapter.
  void merge();
  void unmerge();
  bool merged() const { return merged_; }

  std::int64_t in_features() const { return weight.size(1); }
  std::int64_t out_features() const { return weight.size(0); }

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined

 private:
  struct Adapter {
    torch::nn::Linear a{nullptr};
    torch::nn::Linear b{nullptr};
    double scale = 1.0;
    double dropout = 0.0;
  };
  std::map<std::string, Adapter> adapters_;
  std::string active_;
  bool merged_ = false;
  torch::Tensor unmerged_weight_;
};
TORCH_MODULE(LoraLinear);

// adapter_config.json, the fields that change results (the rest is read leniently).
struct LoraConfig {
  int r = 8;
  double lora_alpha = 8;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
  std::map<std::string, double> alpha_pattern;  // module name suffix -> alpha
  std::map<std::string, int> rank_pattern;      // module name suffix -> r
};

// Parses adapter_config.json. Throws core::Error naming the file for another PEFT type, DoRA,
// trainable biases or modules_to_save (which mat does not apply).
LoraConfig load_lora_config(const std::filesystem::path& path);

// One module's adapter from adapter_model.safetensors: `module` is the module name with the
// "base_model.model." prefix removed, in the naming scheme of the file.
struct LoraTensors {
  std::string module;
  torch::Tensor a;  // [r, in] (float32)
  torch::Tensor b;  // [out, r]
  double scale = 1.0;
};

// Reads a PEFT adapter folder (adapter_config.json + adapter_model.safetensors). Throws
// core::Error naming the file and tensor for a missing file, an unpaired A/B, a rank that
// differs between A and B, or a tensor that is not a float matrix.
std::vector<LoraTensors> load_peft_adapter(const std::filesystem::path& dir);

}  // namespace mat::engine

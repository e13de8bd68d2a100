#include "mat/train/lora_setup.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/train/tensor_file.h"

namespace mat::train {

namespace {

constexpr const char* kDecoderPrefix = "model.language_model.";

std::string last_part(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Freezes every parameter; the adapters added afterwards are the only trainable ones.
void freeze(engine::Qwen2VLModelImpl& model) {
  for (auto& p : model.parameters()) p.set_requires_grad(false);
}

LoraModule module_of(const std::string& name, engine::LoraLinearImpl& layer) {
  auto [a, b] = layer.adapter_weights(kTrainAdapter);
  return {name, a, b};
}

}  // namespace

std::vector<LoraModule> attach_lora(engine::Qwen2VLModelImpl& model, const LoraSpec& spec) {
  if (spec.rank <= 0)
    throw core::Error("LoRA rank must be positive (got " + std::to_string(spec.rank) + ")");
  freeze(model);
  const std::set<std::string> targets(spec.targets.begin(), spec.targets.end());
  std::set<std::string> matched;
  std::vector<LoraModule> out;
  const double scale = spec.alpha / spec.rank;
  for (auto& [name, layer] : model.linear_layers()) {
    if (name.rfind(kDecoderPrefix, 0) != 0 || targets.count(last_part(name)) == 0) continue;
    matched.insert(last_part(name));
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer->in_features()));
    const torch::Tensor a =
        torch::empty({spec.rank, layer->in_features()}, torch::kFloat32).uniform_(-bound, bound);
    const torch::Tensor b = torch::zeros({layer->out_features(), spec.rank}, torch::kFloat32);
    layer->add_adapter(kTrainAdapter, a, b, scale, /*trainable=*/true, spec.dropout);
    layer->set_active(kTrainAdapter);
    out.push_back(module_of(name, *layer));
  }
  for (const std::string& t : targets) {
    if (matched.count(t) == 0) {
      throw core::Error("LoRA target '" + t +
                        "' matches no linear layer of the language model (its projections are "
                        "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
    }
  }
  return out;
}

std::vector<LoraModule> attach_lora_from(engine::Qwen2VLModelImpl& model,
                                         const std::filesystem::path& dir, double dropout) {
  freeze(model);
  const std::vector<engine::LoraTensors> tensors = engine::load_peft_adapter(dir);
  std::map<std::string, const engine::LoraTensors*> by_module;
  for (const engine::LoraTensors& t : tensors) {
    by_module[t.module] = &t;
    by_module[engine::rename_tensor(t.module, engine::TensorNaming::kLegacy)] = &t;
  }
  std::vector<LoraModule> out;
  for (auto& [name, layer] : model.linear_layers()) {
    auto it = by_module.find(name);
    if (it == by_module.end())
      it = by_module.find(engine::rename_tensor(name, engine::TensorNaming::kLegacy));
    if (it == by_module.end()) continue;
    const engine::LoraTensors& t = *it->second;
    layer->add_adapter(kTrainAdapter, t.a, t.b, t.scale, /*trainable=*/true, dropout);
    layer->set_active(kTrainAdapter);
    out.push_back(module_of(name, *layer));
  }
  if (out.size() != tensors.size()) {
    throw core::Error(dir.string() + ": " + std::to_string(tensors.size() - out.size()) +
                      " of its adapted modules are not layers of this model; the adapter was "
                      "trained for another base model");
  }
  return out;
}

std::map<std::string, torch::Tensor> peft_tensors(const std::vector<LoraModule>& modules) {
  std::map<std::string, torch::Tensor> out;
  for (const LoraModule& m : modules) {
    out["base_model.model." + m.name + ".lora_A.weight"] = m.a;
    out["base_model.model." + m.name + ".lora_B.weight"] = m.b;
  }
  return out;
}

void write_peft_adapter(const std::filesystem::path& dir, const std::vector<LoraModule>& modules,
                        const LoraSpec& spec) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> targets = spec.targets;
  std::sort(targets.begin(), targets.end());
  // The fields PEFT needs to rebuild the adapter; everything else takes PEFT's defaults.
  const core::Json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", nullptr},
      {"r", spec.rank},
      {"lora_alpha", spec.alpha},
      {"lora_dropout", spec.dropout},
      {"target_modules", targets},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", false},
      {"use_dora", false},
      {"init_lora_weights", true},
      {"inference_mode", true},
      {"modules_to_save", nullptr},
      {"rank_pattern", core::Json::object()},
      {"alpha_pattern", core::Json::object()},
  };
  write_tensor_file(dir / "adapter_model.safetensors", peft_tensors(modules), {{"format", "pt"}});
  core::write_json_file(dir / "adapter_config.json", config);
}

}  // namespace mat::train

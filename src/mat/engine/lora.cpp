#include "mat/engine/lora.h"

#include <torch/torch.h>

#include <cmath>
#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/cpu_linear.h"
#include "mat/engine/safetensors.h"

namespace mat::engine {

LoraLinearImpl::LoraLinearImpl(std::int64_t in_features, std::int64_t out_features, bool with_bias,
                               const torch::TensorOptions& options) {
  // Uninitialised: the checkpoint fills it (a 7B model's random init would cost minutes).
  weight = register_parameter("weight", torch::empty({out_features, in_features}, options));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}, options));
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = dense(x, weight, bias);
  if (active_.empty() || merged_) return y;
  Adapter& adapter = adapters_.at(active_);
  torch::Tensor input = x.to(adapter.a->weight.scalar_type());
  if (adapter.dropout > 0) input = torch::dropout(input, adapter.dropout, is_training());
  const torch::Tensor delta = adapter.b(adapter.a(input));
  return y + (delta * adapter.scale).to(y.scalar_type());
}

void LoraLinearImpl::add_adapter(const std::string& name, const torch::Tensor& a,
                                 const torch::Tensor& b, double scale, bool trainable,
                                 double dropout) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != in_features() || b.size(0) != out_features() ||
      a.size(0) != b.size(1)) {
    throw core::Error("LoRA adapter '" + name + "': A " + c10::str(a.sizes()) + " and B " +
                      c10::str(b.sizes()) + " do not fit a linear layer of " +
                      std::to_string(in_features()) + " -> " + std::to_string(out_features()));
  }
  if (has_adapter(name)) remove_adapter(name);
  const std::int64_t r = a.size(0);
  const auto options = torch::TensorOptions()
                           .dtype(trainable ? torch::kFloat32 : weight.scalar_type())
                           .device(weight.device());
  Adapter adapter;
  adapter.a = torch::nn::Linear(torch::nn::LinearOptions(in_features(), r).bias(false));
  adapter.b = torch::nn::Linear(torch::nn::LinearOptions(r, out_features()).bias(false));
  adapter.a->to(options.device(), options.dtype().toScalarType());
  adapter.b->to(options.device(), options.dtype().toScalarType());
  {
    torch::NoGradGuard no_grad;
    adapter.a->weight.copy_(a);
    adapter.b->weight.copy_(b);
  }
  adapter.a->weight.set_requires_grad(trainable);
  adapter.b->weight.set_requires_grad(trainable);
  adapter.scale = scale;
  adapter.dropout = dropout;
  register_module("lora_" + name + "_A", adapter.a);
  register_module("lora_" + name + "_B", adapter.b);
  adapters_[name] = std::move(adapter);
}

std::pair<torch::Tensor, torch::Tensor> LoraLinearImpl::adapter_weights(
    const std::string& name) const {
  auto it = adapters_.find(name);
  if (it == adapters_.end()) {
    throw core::Error("LoRA adapter '" + name + "' is not loaded on this layer");
  }
  return {it->second.a->weight, it->second.b->weight};
}

void LoraLinearImpl::remove_adapter(const std::string& name) {
  auto it = adapters_.find(name);
  if (it == adapters_.end()) return;
  if (active_ == name) {
    unmerge();
    active_.clear();
  }
  unregister_module("lora_" + name + "_A");
  unregister_module("lora_" + name + "_B");
  adapters_.erase(it);
}

void LoraLinearImpl::set_active(const std::string& name) {
  if (name == active_) return;
  if (!name.empty() && !has_adapter(name)) {
    throw core::Error("LoRA adapter '" + name + "' is not loaded on this layer");
  }
  unmerge();
  active_ = name;
}

void LoraLinearImpl::merge() {
  if (active_.empty() || merged_) return;
  torch::NoGradGuard no_grad;
  const Adapter& adapter = adapters_.at(active_);
  unmerged_weight_ = weight.detach().clone();
  const torch::Tensor delta =
      torch::matmul(adapter.b->weight.to(torch::kFloat32), adapter.a->weight.to(torch::kFloat32)) *
      adapter.scale;
  weight.copy_((weight.to(torch::kFloat32) + delta).to(weight.scalar_type()));
  merged_ = true;
}

void LoraLinearImpl::unmerge() {
  if (!merged_) return;
  torch::NoGradGuard no_grad;
  weight.copy_(unmerged_weight_);
  unmerged_weight_ = torch::Tensor();
  merged_ = false;
}

// ---- PEFT format ----

namespace {

std::string suffix_match_key(const std::map<std::string, double>& patterns,
                             const std::string& module) {
  for (const auto& [key, value] : patterns) {
    if (module == key || (module.size() > key.size() &&
                          module.compare(module.size() - key.size(), key.size(), key) == 0 &&
                          module[module.size() - key.size() - 1] == '.')) {
      return key;
    }
  }
  return {};
}

}  // namespace

LoraConfig load_lora_config(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw core::Error(path.string() +
                      ": no adapter_config.json; a LoRA adapter folder is what PEFT's "
                      "save_pretrained writes (adapter_config.json + adapter_model.safetensors)");
  }
  const core::Json json = core::read_json_file(path);
  const std::string name = path.string();
  auto fail = [&](const std::string& why) { throw core::Error(name + ": " + why); };
  if (!json.is_object()) fail("not a JSON object");
  const std::string type = json.value("peft_type", std::string("LORA"));
  if (type != "LORA") fail("peft_type is " + type + "; mat applies LORA adapters only");
  if (json.value("use_dora", false)) fail("use_dora is set; DoRA adapters are not supported");
  const auto null_or_empty = [&](const char* key) {
    return !json.contains(key) || json[key].is_null() || json[key].empty();
  };
  if (json.contains("bias") && json["bias"].is_string() && json["bias"] != "none") {
    fail("bias is \"" + json["bias"].get<std::string>() +
         "\"; adapters with trained biases are not supported");
  }
  if (!null_or_empty("modules_to_save")) {
    fail("modules_to_save is set; adapters that replace whole modules are not supported");
  }
  LoraConfig config;
  try {
    config.r = json.value("r", 8);
    config.lora_alpha = json.value("lora_alpha", static_cast<double>(config.r));
    config.use_rslora = json.value("use_rslora", false);
    if (json.contains("target_modules") && json["target_modules"].is_array()) {
      config.target_modules = json["target_modules"].get<std::vector<std::string>>();
    }
    if (json.contains("alpha_pattern") && json["alpha_pattern"].is_object()) {
      config.alpha_pattern = json["alpha_pattern"].get<std::map<std::string, double>>();
    }
    if (json.contains("rank_pattern") && json["rank_pattern"].is_object()) {
      config.rank_pattern = json["rank_pattern"].get<std::map<std::string, int>>();
    }
  } catch (const core::Json::exception& e) {
    fail(std::string("ill-typed field: ") + e.what());
  }
  if (config.r <= 0) fail("r must be positive");
  return config;
}

std::vector<LoraTensors> load_peft_adapter(const std::filesystem::path& dir) {
  const LoraConfig config = load_lora_config(dir / "adapter_config.json");
  const std::filesystem::path file_path = dir / "adapter_model.safetensors";
  if (!std::filesystem::exists(file_path)) {
    throw core::Error(file_path.string() +
                      ": missing; mat reads PEFT adapters saved as safetensors (not .bin)");
  }
  const SafetensorsFile file = SafetensorsFile::open(file_path);
  const std::string fname = file_path.string();
  struct Pair {
    const TensorInfo* a = nullptr;
    const TensorInfo* b = nullptr;
  };
  std::map<std::string, Pair> pairs;
  for (const TensorInfo& t : file.tensors()) {
    std::string name = t.name;
    const std::string prefix = "base_model.model.";
    if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    bool is_a = false;
    std::size_t at = std::string::npos;
    for (const char* marker : {".lora_A.", ".lora_B."}) {
      const std::size_t p = name.find(marker);
      if (p != std::string::npos) {
        at = p;
        is_a = std::string(marker) == ".lora_A.";
      }
    }
    if (at == std::string::npos) {
      throw core::Error(fname + ": tensor '" + t.name +
                        "' is not a LoRA A/B matrix (embedding adapters, trained biases and "
                        "saved modules are not supported)");
    }
    const std::string rest = name.substr(at + 8);
    if (rest != "weight" && rest != "default.weight") {
      throw core::Error(fname + ": tensor '" + t.name + "' has an unexpected name after lora_A/B");
    }
    if (t.dtype != DType::kF32 && t.dtype != DType::kF16 && t.dtype != DType::kBF16) {
      throw core::Error(fname + ": tensor '" + t.name + "' has dtype " +
                        std::string(dtype_name(t.dtype)) + "; LoRA weights must be F32/F16/BF16");
    }
    Pair& pair = pairs[name.substr(0, at)];
    (is_a ? pair.a : pair.b) = &t;
  }
  if (pairs.empty()) throw core::Error(fname + ": holds no LoRA tensors");

  auto to_matrix = [&](const TensorInfo& t) {
    std::vector<float> values = file.to_f32(t.name);
    if (t.shape.size() < 2) {
      throw core::Error(fname + ": tensor '" + t.name + "' is not a matrix");
    }
    // Conv adapters (e.g. on the patch embedding) flatten to [r, in] / [out, r].
    std::int64_t rows = t.shape[0];
    torch::Tensor m =
        torch::from_blob(values.data(), {rows, static_cast<std::int64_t>(values.size()) / rows},
                         torch::kFloat32)
            .clone();
    return m;
  };
  std::vector<LoraTensors> out;
  for (const auto& [module, pair] : pairs) {
    if (pair.a == nullptr || pair.b == nullptr) {
      throw core::Error(fname + ": module '" + module + "' has lora_" +
                        (pair.a ? "A but no lora_B" : "B but no lora_A"));
    }
    LoraTensors t;
    t.module = module;
    t.a = to_matrix(*pair.a);
    t.b = to_matrix(*pair.b);
    if (t.a.size(0) != t.b.size(1)) {
      throw core::Error(fname + ": tensors '" + pair.a->name + "' and '" + pair.b->name +
                        "' disagree on the rank (" + std::to_string(t.a.size(0)) + " vs " +
                        std::to_string(t.b.size(1)) + ")");
    }
    const double r = static_cast<double>(t.a.size(0));
    double alpha = config.lora_alpha;
    if (const std::string key = suffix_match_key(config.alpha_pattern, module); !key.empty()) {
      alpha = config.alpha_pattern.at(key);
    }
    t.scale = config.use_rslora ? alpha / std::sqrt(r) : alpha / r;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace mat::engine

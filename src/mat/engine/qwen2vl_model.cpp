// The whole Qwen2-VL model: construction, image embeddings in place of <|image_pad|>, the head,
// and loading from a Hugging Face safetensors checkpoint in either tensor naming scheme.
#include "mat/engine/qwen2vl_model.h"

#include <torch/torch.h>

#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/cpu_linear.h"
#include "mat/engine/safetensors.h"

namespace mat::engine {

namespace {

torch::TensorOptions tensor_options(const ModelOptions& options) {
  return torch::TensorOptions().dtype(options.dtype).device(options.device);
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::Dtype torch_dtype(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF16:
      return torch::kFloat16;
    case DType::kBF16:
      return torch::kBFloat16;
    default:
      throw core::Error("not a float dtype");
  }
}

// A sharded checkpoint with a shard missing: name the shard and a tensor it should hold.
void check_shards(const std::filesystem::path& dir) {
  const std::filesystem::path index_path = dir / "model.safetensors.index.json";
  if (!std::filesystem::exists(index_path)) return;
  const core::Json index = core::read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return;  // SafetensorsCheckpoint::open reports it
  }
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) continue;
    const std::filesystem::path shard = dir / it.value().get<std::string>();
    if (!std::filesystem::exists(shard)) {
      throw core::Error(shard.string() + ": shard missing (" + index_path.string() +
                        " puts tensor '" + it.key() +
                        "' in it); copy every shard of the checkpoint");
    }
  }
}

}  // namespace

Qwen2VLModelImpl::Qwen2VLModelImpl(const Qwen2VLConfig& config, const ModelOptions& options)
    : config_(config), options_(options) {
  const torch::TensorOptions t = tensor_options(options);
  visual = register_module("visual", VisionTower(config.vision, t));
  language_model = register_module("language_model", TextDecoder(config.text, t));
  if (!config.text.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", LoraLinear(config.text.hidden_size, config.text.vocab_size, false, t));
  }
}

torch::Tensor Qwen2VLModelImpl::embed(const torch::Tensor& ids, const torch::Tensor& image_embeds) {
  const torch::Tensor on_device = ids.to(language_model->embed_tokens.device(), torch::kInt64);
  torch::Tensor embeds = torch::embedding(language_model->embed_tokens, on_device);
  // Without images (e.g. decoding), an <|image_pad|> id is just a token, as in the reference.
  if (!image_embeds.defined()) return embeds;
  const torch::Tensor is_image = on_device == config_.image_token_id;
  const std::int64_t slots = is_image.sum().item<std::int64_t>();
  if (slots != image_embeds.size(0)) {
    throw core::Error("the prompt has " + std::to_string(slots) + " <|image_pad|> tokens but the " +
                      "images give " + std::to_string(image_embeds.size(0)) +
                      " embeddings; each image must be expanded to its grid's token count");
  }
  // Out of place (index_put, not index_put_): gradients flow to both the text and the images.
  return embeds.index_put({is_image}, image_embeds.to(embeds.scalar_type()));
}

torch::Tensor Qwen2VLModelImpl::logits(const torch::Tensor& hidden) {
  const torch::Tensor out =
      lm_head ? lm_head(hidden)
              : dense(hidden, language_model->embed_tokens);
  return out.to(torch::kFloat32);
}

torch::Tensor Qwen2VLModelImpl::forward(const std::vector<std::int32_t>& ids,
                                        const torch::Tensor& pixel_values,
                                        const std::vector<GridThw>& grids) {
  const auto n = static_cast<std::int64_t>(ids.size());
  const torch::Tensor id_tensor =
      torch::from_blob(const_cast<std::int32_t*>(ids.data()), {1, n}, torch::kInt32)
          .to(torch::kInt64);
  torch::Tensor image_embeds;
  if (!grids.empty()) image_embeds = visual->forward(pixel_values, grids).merged;
  const torch::Tensor hidden =
      language_model->forward(embed(id_tensor, image_embeds), position_ids(ids, grids));
  return logits(hidden);
}

torch::Tensor Qwen2VLModelImpl::position_ids(const std::vector<std::int32_t>& ids,
                                             const std::vector<GridThw>& grids) const {
  const MropePositions pos =
      mrope_positions(ids, config_.image_token_id, grids, config_.vision.spatial_merge_size);
  std::vector<std::int64_t> flat;
  flat.reserve(3 * ids.size());
  flat.insert(flat.end(), pos.temporal.begin(), pos.temporal.end());
  flat.insert(flat.end(), pos.height.begin(), pos.height.end());
  flat.insert(flat.end(), pos.width.begin(), pos.width.end());
  return torch::tensor(flat, torch::kInt64).view({3, 1, static_cast<std::int64_t>(ids.size())});
}

std::vector<std::pair<std::string, LoraLinear>> Qwen2VLModelImpl::linear_layers() {
  std::vector<std::pair<std::string, LoraLinear>> out;
  for (const auto& item : named_modules("", false)) {
    if (auto layer = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) {
      const std::string& name = item.key();
      out.emplace_back(name == "lm_head" ? name : "model." + name, LoraLinear(layer));
    }
  }
  return out;
}

std::string rename_tensor(const std::string& modern_name, TensorNaming naming) {
  if (naming == TensorNaming::kModern) return modern_name;
  const std::string lm = "model.language_model.";
  const std::string vis = "model.visual.";
  if (modern_name.rfind(lm, 0) == 0) return "model." + modern_name.substr(lm.size());
  if (modern_name.rfind(vis, 0) == 0) return "visual." + modern_name.substr(vis.size());
  return modern_name;
}

Qwen2VLModel load_qwen2vl_model(const std::filesystem::path& dir, const ModelOptions& options) {
  const std::filesystem::path config_path = dir / "config.json";
  const Qwen2VLConfig config = load_qwen2vl_config(config_path);
  check_shards(dir);
  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open(dir);

  TensorNaming naming = TensorNaming::kLegacy;
  for (const std::string& name : checkpoint.names()) {
    if (name.rfind("model.language_model.", 0) == 0 || name.rfind("model.visual.", 0) == 0) {
      naming = TensorNaming::kModern;
      break;
    }
  }
  const char* scheme = naming == TensorNaming::kModern ? "model.language_model.* / model.visual.*"
                                                       : "model.* / visual.*";

  torch::NoGradGuard no_grad;
  Qwen2VLModel model(config, options);
  for (auto& item : model->named_parameters(true)) {
    const std::string ours = item.key();
    torch::Tensor& param = item.value();
    const std::string modern = ours.rfind("lm_head", 0) == 0 ? ours : "model." + ours;
    const std::string name = rename_tensor(modern, naming);
    const TensorInfo* info = checkpoint.find(name);
    if (info == nullptr) {
      throw core::Error(dir.string() + ": tensor '" + name + "' is missing (the checkpoint uses " +
                        "the " + scheme + " naming); the checkpoint is incomplete or does not " +
                        "match " + config_path.string());
    }
    const SafetensorsFile& file = checkpoint.file_of(name);
    const std::string where = file.path().string() + ": tensor '" + name + "'";
    if (info->dtype != DType::kF32 && info->dtype != DType::kF16 && info->dtype != DType::kBF16) {
      throw core::Error(where + " has dtype " + std::string(dtype_name(info->dtype)) +
                        "; weights must be F32, F16 or BF16");
    }
    std::vector<std::int64_t> expected(param.sizes().begin(), param.sizes().end());
    const bool is_patch_embed = ours == "visual.patch_embed.proj.weight";
    if (is_patch_embed) {  // stored as Conv3d [embed, channels, temporal, patch, patch]
      const Qwen2VLVisionConfig& v = config.vision;
      expected = {v.embed_dim, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size};
    }
    if (info->shape != expected) {
      throw core::Error(where + " has shape " + shape_string(info->shape) + ", expected " +
                        shape_string(expected) + " from " + config_path.string() +
                        "; the weights and config.json belong to different models");
    }
    const std::span<const std::byte> bytes = file.bytes(*info);
    const torch::Tensor source = torch::from_blob(const_cast<std::byte*>(bytes.data()), info->shape,
                                                  torch_dtype(info->dtype))
                                     .reshape(param.sizes());
    param.copy_(source);
    file.release(*info);
    param.set_requires_grad(false);
  }
  return model;
}

// ---- adapters ----

void apply_peft_adapter(Qwen2VLModelImpl& model, const std::string& name,
                        const std::filesystem::path& dir, bool trainable) {
  if (name.empty() || name.find_first_of(". ") != std::string::npos) {
    throw core::Error("adapter name '" + name + "' must be non-empty, without dots or spaces");
  }
  const std::vector<LoraTensors> tensors = load_peft_adapter(dir);
  const std::string file = (dir / "adapter_model.safetensors").string();
  std::map<std::string, LoraLinear> by_name;
  for (auto& [modern, layer] : model.linear_layers()) {
    by_name.emplace(modern, layer);
    const std::string legacy = rename_tensor(modern, TensorNaming::kLegacy);
    if (legacy != modern) by_name.emplace(legacy, layer);
  }
  // Check everything before changing anything.
  std::vector<std::pair<LoraLinear, const LoraTensors*>> plan;
  for (const LoraTensors& t : tensors) {
    auto it = by_name.find(t.module);
    if (it == by_name.end()) {
      throw core::Error(file + ": tensor 'base_model.model." + t.module +
                        ".lora_A.weight' targets a module this Qwen2-VL model does not have; the " +
                        "adapter was trained for another architecture");
    }
    LoraLinear layer = it->second;
    if (t.a.size(1) != layer->in_features() || t.b.size(0) != layer->out_features()) {
      const bool a_bad = t.a.size(1) != layer->in_features();
      throw core::Error(file + ": tensor 'base_model.model." + t.module + ".lora_" +
                        (a_bad ? "A" : "B") + ".weight' has shape " +
                        c10::str(a_bad ? t.a.sizes() : t.b.sizes()) + " but the layer is " +
                        std::to_string(layer->in_features()) + " -> " +
                        std::to_string(layer->out_features()) +
                        "; the adapter was trained for another base model");
    }
    plan.emplace_back(layer, &t);
  }
  for (auto& [layer, t] : plan) layer->add_adapter(name, t->a, t->b, t->scale, trainable);
}

void set_active_adapter(Qwen2VLModelImpl& model, const std::string& name) {
  bool found = name.empty();
  for (auto& [_, layer] : model.linear_layers()) {
    if (layer->has_adapter(name)) {
      layer->set_active(name);
      found = true;
    } else {
      layer->set_active("");
    }
  }
  if (!found) throw core::Error("LoRA adapter '" + name + "' is not loaded");
}

void remove_adapter(Qwen2VLModelImpl& model, const std::string& name) {
  for (auto& [_, layer] : model.linear_layers()) layer->remove_adapter(name);
}

void merge_active_adapter(Qwen2VLModelImpl& model) {
  for (auto& [_, layer] : model.linear_layers()) layer->merge();
}

void unmerge_adapter(Qwen2VLModelImpl& model) {
  for (auto& [_, layer] : model.linear_layers()) layer->unmerge();
}

}  // namespace mat::engine

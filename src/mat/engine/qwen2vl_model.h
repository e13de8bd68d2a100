// Qwen2-VL on libtorch: the vision tower, the Qwen2 decoder with multimodal RoPE, the head.
//
//   Qwen2VLModel model = load_qwen2vl_model("weights/", {torch::kBFloat16, torch::kCPU});
//   VisionOutput v = model->visual->forward(pixel_values, grids);        // v.merged: [n, hidden]
//   torch::Tensor embeds = model->embed(ids, v.merged);                  // [B, L, hidden]
//   torch::Tensor hidden = model->language_model->forward(embeds, positions, &cache);
//   torch::Tensor logits = model->logits(hidden);                        // [B, L, vocab]
//
// Every module is built for autograd: no in-place operation on a tensor that may need a
// gradient (the KV cache, written in place, is for inference only), every linear layer a
// LoraLinear, and DecoderLayerImpl::forward a pure function of its inputs so that a trainer can
// recompute it (activation checkpointing per layer). Parameter names follow the Hugging Face
// "modern" scheme without the leading "model." (visual.blocks.0.attn.qkv.weight,
// language_model.layers.0.self_attn.q_proj.weight, lm_head.weight).
//
// Torch header: include it only from the engine and the trainer.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mat/engine/lora.h"
#include "mat/engine/mrope.h"
#include "mat/engine/qwen2vl_config.h"

namespace mat::engine {

struct ModelOptions {
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(std::int64_t size, double eps, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // variance in float32, as the reference
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RmsNorm);

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(std::int64_t size, double eps, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  torch::Tensor bias;
  double eps;
};
TORCH_MODULE(LayerNorm);

// ---- vision tower ----

class VisionBlockImpl : public torch::nn::Module {
 public:
  VisionBlockImpl(const Qwen2VLVisionConfig& config, const torch::TensorOptions& options);
  // x: [N, embed]; cos/sin: [N, head_dim] float32; segments: the patch count of each attention
  // segment (one per image frame), in order.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const std::vector<std::int64_t>& segments);

  LayerNorm norm1{nullptr}, norm2{nullptr};
  LoraLinear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};

 private:
  std::int64_t num_heads_;
  std::string act_;
};
TORCH_MODULE(VisionBlock);

struct VisionOutput {
  torch::Tensor patch_embed;        // [N, embed]
  torch::Tensor last_hidden_state;  // [N, embed], before the merger
  torch::Tensor merged;             // [N / merge^2, hidden]: what replaces the <|image_pad|>s
};

class VisionTowerImpl : public torch::nn::Module {
 public:
  VisionTowerImpl(const Qwen2VLVisionConfig& config, const torch::TensorOptions& options);
  // pixel_values: [N, channels * temporal * patch^2] as the image processor makes them (any float
  // dtype); grids: one per image, N = sum of t*h*w. Throws core::Error when they disagree.
  VisionOutput forward(const torch::Tensor& pixel_values, const std::vector<GridThw>& grids);

  LoraLinear patch_embed{nullptr};  // the Conv3d with stride = kernel, as a linear layer
  torch::nn::ModuleList blocks;
  LayerNorm merger_ln_q{nullptr};
  LoraLinear merger_fc1{nullptr}, merger_fc2{nullptr};

 private:
  Qwen2VLVisionConfig config_;
  torch::Tensor inv_freq_;  // float32, [head_dim / 4]
};
TORCH_MODULE(VisionTower);

// ---- language model ----

// Keys and values of every layer for one batch of sequences, preallocated to `capacity`
// positions. Inference only (written in place).
struct KvCache {
  std::vector<torch::Tensor> keys;  // per layer [B, kv_heads, capacity, head_dim]
  std::vector<torch::Tensor> values;
  std::int64_t length = 0;  // positions filled
  std::int64_t capacity = 0;
  // [B, capacity] float32, added to the attention scores: -inf at the slots of the left padding
  // that lines up the shorter prompts of a batch, 0 elsewhere. Undefined: no row is padded.
  torch::Tensor padding;
};

struct Rope {
  torch::Tensor cos;  // [B, L, head_dim] in the model dtype
  torch::Tensor sin;
};

// A packed training sequence (train::shared_prefix_loss): `prefix` positions, causal among
// themselves, then parts of these lengths, each attending to the whole prefix and, causally, to
// itself. Attention is computed part by part, so its cost is that of the samples apart.
struct SharedPrefixLayout {
  std::int64_t prefix = 0;
  std::vector<std::int64_t> parts;
};

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const Qwen2VLTextConfig& config, const torch::TensorOptions& options);
  // x: [B, L, hidden]; mask: additive float32 [L, past + L], or [B, 1, 1, L, past + L] with a
  // batch's padding (undefined: none needed); cache and layer index: append this step's
  // keys/values (nullptr: attend within x only).
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                        KvCache* cache = nullptr, std::size_t layer = 0);
  // x: [1, prefix + sum(parts), hidden], laid out as `layout` says.
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, const SharedPrefixLayout& layout);

  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

 private:
  struct Projected {
    torch::Tensor q, k, v;  // [B, heads, L, head_dim], RoPE applied to q and k
  };
  Projected project(const torch::Tensor& h, const Rope& rope);
  // Attention of q over k, v with an additive mask ([L, T], or undefined: none) -> [B, L, hidden].
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& mask) const;
  // The residual, the output projection and the MLP around the attention's output.
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& attn);

  std::int64_t num_heads_, num_kv_heads_, head_dim_;
};
TORCH_MODULE(DecoderLayer);

class TextDecoderImpl : public torch::nn::Module {
 public:
  TextDecoderImpl(const Qwen2VLTextConfig& config, const torch::TensorOptions& options);

  // Multimodal RoPE for positions [3, B, L] (temporal, height, width; int64).
  Rope rope(const torch::Tensor& position_ids) const;
  // The causal mask for L new positions after `past` cached ones (undefined when L == 1).
  static torch::Tensor causal_mask(std::int64_t length, std::int64_t past,
                                   const torch::Device& device);

  // embeds [B, L, hidden] -> the final-normed hidden states [B, L, hidden]. With a cache, the
  // positions continue after cache->length and the cache grows by L. `hidden_states`, when given,
  // receives the input of every layer and the normed output (the reference's output_hidden_states).
  torch::Tensor forward(const torch::Tensor& embeds, const torch::Tensor& position_ids,
                        KvCache* cache = nullptr,
                        std::vector<torch::Tensor>* hidden_states = nullptr);

  KvCache make_cache(std::int64_t batch, std::int64_t capacity) const;

  torch::Tensor embed_tokens;  // [vocab, hidden]
  torch::nn::ModuleList layers;
  RmsNorm norm{nullptr};

 private:
  Qwen2VLTextConfig config_;
  torch::Tensor inv_freq_;  // float32, [head_dim / 2]
};
TORCH_MODULE(TextDecoder);

class Qwen2VLModelImpl : public torch::nn::Module {
 public:
  Qwen2VLModelImpl(const Qwen2VLConfig& config, const ModelOptions& options);

  // Token embeddings of ids [B, L] with the rows of `image_embeds` ([n, hidden]) placed at the
  // <|image_pad|> positions, in order; throws core::Error on a count mismatch. With
  // `image_embeds` undefined every id is embedded as a token (decoding).
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& image_embeds);
  // hidden [.., hidden] -> logits [.., vocab] in float32 (the head is tied to the embeddings when
  // the config says so).
  torch::Tensor logits(const torch::Tensor& hidden);

  // The M-RoPE positions [3, 1, L] (int64) of one sequence whose images have these grids.
  torch::Tensor position_ids(const std::vector<std::int32_t>& ids,
                             const std::vector<GridThw>& grids) const;
  // The whole forward pass without cache: logits [1, L, vocab] of one sequence.
  torch::Tensor forward(const std::vector<std::int32_t>& ids, const torch::Tensor& pixel_values,
                        const std::vector<GridThw>& grids);

  // Every LoraLinear by its Hugging Face module name in the modern scheme
  // ("model.language_model.layers.0.self_attn.q_proj", "lm_head").
  std::vector<std::pair<std::string, LoraLinear>> linear_layers();

  const Qwen2VLConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }

  VisionTower visual{nullptr};
  TextDecoder language_model{nullptr};
  LoraLinear lm_head{nullptr};  // null when tied

 private:
  Qwen2VLConfig config_;
  ModelOptions options_;
};
TORCH_MODULE(Qwen2VLModel);

// The Hugging Face names of a checkpoint: "model.language_model.*" / "model.visual.*" (modern)
// or "model.*" / "visual.*" (legacy); lm_head.weight in both.
enum class TensorNaming { kModern, kLegacy };
// A modern-scheme name in the other scheme.
std::string rename_tensor(const std::string& modern_name, TensorNaming naming);

// Builds the model of `dir`/config.json and fills it from the safetensors checkpoint in `dir`
// (one file or shards), converting to options.dtype on options.device. Every parameter must be
// present with its exact shape and a float dtype: otherwise throws core::Error naming the file
// and the tensor. The parameters do not require gradients (a trainer unfreezes what it trains).
Qwen2VLModel load_qwen2vl_model(const std::filesystem::path& dir, const ModelOptions& options);

// Applies a PEFT adapter folder to `model` under `name` (see lora.h), in either naming scheme.
// Throws core::Error naming the file and tensor for a module the model does not have or a shape
// that differs from the base layer (an adapter of another base model).
void apply_peft_adapter(Qwen2VLModelImpl& model, const std::string& name,
                        const std::filesystem::path& dir, bool trainable = false);
// Selects the adapter every layer applies ("" for none; layers without it apply none).
void set_active_adapter(Qwen2VLModelImpl& model, const std::string& name);
void remove_adapter(Qwen2VLModelImpl& model, const std::string& name);
void merge_active_adapter(Qwen2VLModelImpl& model);
void unmerge_adapter(Qwen2VLModelImpl& model);

}  // namespace mat::engine

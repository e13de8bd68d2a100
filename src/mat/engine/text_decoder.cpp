// The Qwen2 decoder of Qwen2-VL: RMSNorm (variance in float32, the config's epsilon),
// grouped-query attention with q/k/v biases and multimodal RoPE, SwiGLU MLP.
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "mat/core/error.h"
#include "mat/engine/cpu_linear.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

RmsNormImpl::RmsNormImpl(std::int64_t size, double eps_, const torch::TensorOptions& options)
    : eps(eps_) {
  weight = register_parameter("weight", torch::empty({size}, options));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor xf = x.to(torch::kFloat32);
  const torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

DecoderLayerImpl::DecoderLayerImpl(const Qwen2VLTextConfig& config,
                                   const torch::TensorOptions& options)
    : num_heads_(config.num_attention_heads),
      num_kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim) {
  const std::int64_t hidden = config.hidden_size;
  input_layernorm =
      register_module("input_layernorm", RmsNorm(hidden, config.rms_norm_eps, options));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RmsNorm(hidden, config.rms_norm_eps, options));
  auto attn = register_module("self_attn", std::make_shared<torch::nn::Module>());
  q_proj =
      attn->register_module("q_proj", LoraLinear(hidden, num_heads_ * head_dim_, true, options));
  k_proj =
      attn->register_module("k_proj", LoraLinear(hidden, num_kv_heads_ * head_dim_, true, options));
  v_proj =
      attn->register_module("v_proj", LoraLinear(hidden, num_kv_heads_ * head_dim_, true, options));
  o_proj =
      attn->register_module("o_proj", LoraLinear(num_heads_ * head_dim_, hidden, false, options));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  const std::int64_t inter = config.intermediate_size;
  gate_proj = mlp->register_module("gate_proj", LoraLinear(hidden, inter, false, options));
  up_proj = mlp->register_module("up_proj", LoraLinear(hidden, inter, false, options));
  down_proj = mlp->register_module("down_proj", LoraLinear(inter, hidden, false, options));
}

DecoderLayerImpl::Projected DecoderLayerImpl::project(const torch::Tensor& h, const Rope& rope) {
  const std::int64_t batch = h.size(0);
  const std::int64_t len = h.size(1);
  torch::Tensor q = q_proj(h).view({batch, len, num_heads_, head_dim_}).transpose(1, 2);
  torch::Tensor k = k_proj(h).view({batch, len, num_kv_heads_, head_dim_}).transpose(1, 2);
  torch::Tensor v = v_proj(h).view({batch, len, num_kv_heads_, head_dim_}).transpose(1, 2);
  const torch::Tensor cos = rope.cos.unsqueeze(1);
  const torch::Tensor sin = rope.sin.unsqueeze(1);
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  return {q, k, v};
}

torch::Tensor DecoderLayerImpl::attend(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& mask) const {
  const std::int64_t batch = q.size(0);
  const std::int64_t len = q.size(2);
  const std::int64_t total = k.size(2);
  const std::int64_t groups = num_heads_ / num_kv_heads_;
  // Grouped-query attention without repeating K/V: the query heads that share a KV head are
  // stacked along the sequence axis.
  const torch::Tensor qg = q.reshape({batch, num_kv_heads_, groups * len, head_dim_});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  torch::Tensor scores = attention_matmul(qg, k.transpose(2, 3)) * scale;  // [B, KV, G*L, T]
  scores = scores.to(torch::kFloat32);
  if (mask.defined()) {
    scores = (scores.view({batch, num_kv_heads_, groups, len, total}) + mask)
                 .view({batch, num_kv_heads_, groups * len, total});
  }
  const torch::Tensor probs = torch::softmax(scores, -1).to(q.scalar_type());
  return attention_matmul(probs, v)  // [B, KV, G*L, hd]
      .view({batch, num_heads_, len, head_dim_})
      .transpose(1, 2)
      .reshape({batch, len, num_heads_ * head_dim_});
}

torch::Tensor DecoderLayerImpl::finish(const torch::Tensor& x, const torch::Tensor& attn) {
  const torch::Tensor after_attn = x + o_proj(attn);
  const torch::Tensor m = post_attention_layernorm(after_attn);
  return after_attn + down_proj(torch::silu(gate_proj(m)) * up_proj(m));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const Rope& rope,
                                        const torch::Tensor& mask, KvCache* cache,
                                        std::size_t layer) {
  auto [q, k, v] = project(input_layernorm(x), rope);
  if (cache != nullptr) {
    const std::int64_t len = x.size(1);
    const std::int64_t past = cache->length;
    if (past + len > cache->capacity) {
      throw core::Error("KV cache full: " + std::to_string(past + len) + " positions, capacity " +
                        std::to_string(cache->capacity));
    }
    cache->keys[layer].narrow(2, past, len).copy_(k);
    cache->values[layer].narrow(2, past, len).copy_(v);
    k = cache->keys[layer].narrow(2, 0, past + len);
    v = cache->values[layer].narrow(2, 0, past + len);
  }
  return finish(x, attend(q, k, v, mask));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const Rope& rope,
                                        const SharedPrefixLayout& layout) {
  const auto [q, k, v] = project(input_layernorm(x), rope);
  const std::int64_t prefix = layout.prefix;
  const torch::Device device = x.device();
  std::vector<torch::Tensor> outputs;
  if (prefix > 0) {
    outputs.push_back(attend(q.narrow(2, 0, prefix), k.narrow(2, 0, prefix), v.narrow(2, 0, prefix),
                             TextDecoderImpl::causal_mask(prefix, 0, device)));
  }
  std::int64_t start = prefix;
  for (const std::int64_t length : layout.parts) {
    // The part's keys after the prefix's: the mask of `length` new positions after `prefix`.
    const torch::Tensor keys = torch::cat({k.narrow(2, 0, prefix), k.narrow(2, start, length)}, 2);
    const torch::Tensor values =
        torch::cat({v.narrow(2, 0, prefix), v.narrow(2, start, length)}, 2);
    outputs.push_back(attend(q.narrow(2, start, length), keys, values,
                             TextDecoderImpl::causal_mask(length, prefix, device)));
    start += length;
  }
  return finish(x, torch::cat(outputs, 1));
}

TextDecoderImpl::TextDecoderImpl(const Qwen2VLTextConfig& config,
                                 const torch::TensorOptions& options)
    : config_(config) {
  auto embed = register_module("embed_tokens", std::make_shared<torch::nn::Module>());
  embed_tokens = embed->register_parameter(
      "weight", torch::empty({config.vocab_size, config.hidden_size}, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < config.num_hidden_layers; ++i)
    layers->push_back(DecoderLayer(config, options));
  norm = register_module("norm", RmsNorm(config.hidden_size, config.rms_norm_eps, options));
  const std::int64_t hd = config.head_dim;
  inv_freq_ = 1.0 / torch::pow(config.rope_theta,
                               torch::arange(0, hd, 2, torch::kInt64).to(torch::kFloat32) /
                                   static_cast<float>(hd));
  inv_freq_ = inv_freq_.to(torch::kFloat32).to(options.device());
}

Rope TextDecoderImpl::rope(const torch::Tensor& position_ids) const {
  // freqs[a, b, l, j] = position on axis a times inv_freq[j]; frequency j takes its position from
  // the axis of the M-RoPE section it falls in (temporal, height, width, temporal, ...).
  // On the parameters' device and dtype (a trainer may move the model after loading).
  const torch::Device device = embed_tokens.device();
  const torch::Tensor freqs =
      position_ids.to(device).to(torch::kFloat32).unsqueeze(-1) * inv_freq_.to(device);
  std::vector<torch::Tensor> parts;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < config_.mrope_section.size(); ++i) {
    const std::int64_t size = config_.mrope_section[i];
    parts.push_back(freqs.select(0, static_cast<std::int64_t>(i % 3)).narrow(-1, offset, size));
    offset += size;
  }
  const torch::Tensor half = torch::cat(parts, -1);
  const torch::Tensor emb = torch::cat({half, half}, -1);  // [B, L, hd]
  const auto dtype = embed_tokens.scalar_type();
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor TextDecoderImpl::causal_mask(std::int64_t length, std::int64_t past,
                                           const torch::Device& device) {
  if (length == 1) return {};
  // Query i (absolute past + i) sees keys 0 .. past + i.
  const torch::Tensor q = torch::arange(length, torch::kInt64).unsqueeze(1) + past;
  const torch::Tensor k = torch::arange(past + length, torch::kInt64).unsqueeze(0);
  const torch::Tensor mask = torch::zeros({length, past + length}, torch::kFloat32)
                                 .masked_fill(k > q, -std::numeric_limits<float>::infinity());
  return mask.to(device);
}

torch::Tensor TextDecoderImpl::forward(const torch::Tensor& embeds,
                                       const torch::Tensor& position_ids, KvCache* cache,
                                       std::vector<torch::Tensor>* hidden_states) {
  const std::int64_t len = embeds.size(1);
  if (position_ids.dim() != 3 || position_ids.size(0) != 3 ||
      position_ids.size(1) != embeds.size(0) || position_ids.size(2) != len) {
    throw core::Error("decoder: position ids " + c10::str(position_ids.sizes()) +
                      " do not match embeddings " + c10::str(embeds.sizes()) +
                      " (expected [3, batch, length])");
  }
  const Rope r = rope(position_ids);
  const std::int64_t past = cache != nullptr ? cache->length : 0;
  torch::Tensor mask = causal_mask(len, past, embeds.device());  // [L, T]
  if (cache != nullptr && cache->padding.defined()) {
    // Per row: [B, 1 (kv heads), 1 (groups), 1, T], broadcast over the queries.
    const torch::Tensor padding =
        cache->padding.narrow(1, 0, past + len).view({embeds.size(0), 1, 1, 1, past + len});
    mask = mask.defined() ? padding + mask : padding;
  }
  torch::Tensor x = embeds;
  std::size_t index = 0;
  for (const auto& layer : *layers) {
    if (hidden_states != nullptr) hidden_states->push_back(x);
    x = layer->as<DecoderLayerImpl>()->forward(x, r, mask, cache, index++);
  }
  if (cache != nullptr) cache->length += len;
  x = norm(x);
  if (hidden_states != nullptr) hidden_states->push_back(x);
  return x;
}

KvCache TextDecoderImpl::make_cache(std::int64_t batch, std::int64_t capacity) const {
  KvCache cache;
  cache.capacity = capacity;
  const auto options = embed_tokens.options().requires_grad(false);
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    cache.keys.push_back(
        torch::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim}, options));
    cache.values.push_back(
        torch::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim}, options));
  }
  return cache;
}

}  // namespace mat::engine

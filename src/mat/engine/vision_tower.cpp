// The Qwen2-VL vision tower: patch embedding, 2D rotary embeddings, pre-norm blocks whose
// attention stays within each image (frame), and the 2x2 patch merger to the LLM width.
#include <torch/torch.h>

#include <cmath>

#include "mat/core/error.h"
#include "mat/engine/cpu_linear.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

namespace {

torch::Tensor activation(const torch::Tensor& x, const std::string& name) {
  if (name == "quick_gelu") return x * torch::sigmoid(x * 1.702);
  if (name == "gelu") return torch::gelu(x);
  if (name == "gelu_pytorch_tanh" || name == "gelu_new") return torch::gelu(x, "tanh");
  if (name == "silu" || name == "swish") return torch::silu(x);
  throw core::Error("vision hidden_act '" + name +
                    "' is not supported (quick_gelu, gelu, gelu_pytorch_tanh, silu)");
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

LayerNormImpl::LayerNormImpl(std::int64_t size, double eps_, const torch::TensorOptions& options)
    : eps(eps_) {
  weight = register_parameter("weight", torch::empty({size}, options));
  bias = register_parameter("bias", torch::empty({size}, options));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

VisionBlockImpl::VisionBlockImpl(const Qwen2VLVisionConfig& config,
                                 const torch::TensorOptions& options)
    : num_heads_(config.num_heads), act_(config.hidden_act) {
  const std::int64_t dim = config.embed_dim;
  const std::int64_t mlp = dim * config.mlp_ratio;
  norm1 = register_module("norm1", LayerNorm(dim, 1e-6, options));
  norm2 = register_module("norm2", LayerNorm(dim, 1e-6, options));
  // Registered under the reference's module names (attn.qkv, mlp.fc1) through submodules.
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv = attn->register_module("qkv", LoraLinear(dim, 3 * dim, true, options));
  proj = attn->register_module("proj", LoraLinear(dim, dim, true, options));
  auto mlp_module = register_module("mlp", std::make_shared<torch::nn::Module>());
  fc1 = mlp_module->register_module("fc1", LoraLinear(dim, mlp, true, options));
  fc2 = mlp_module->register_module("fc2", LoraLinear(mlp, dim, true, options));
}

torch::Tensor VisionBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                       const torch::Tensor& sin,
                                       const std::vector<std::int64_t>& segments) {
  const std::int64_t n = x.size(0);
  const std::int64_t dim = x.size(1);
  const std::int64_t head_dim = dim / num_heads_;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));

  // [N, 3, heads, head_dim] -> q, k, v of [N, heads, head_dim]
  const torch::Tensor qkv_out = qkv(norm1(x)).reshape({n, 3, num_heads_, head_dim});
  torch::Tensor q = qkv_out.select(1, 0);
  torch::Tensor k = qkv_out.select(1, 1);
  const torch::Tensor v = qkv_out.select(1, 2);
  // Rotary in float32 (the reference does), back to the model dtype.
  const torch::Tensor c = cos.unsqueeze(1);
  const torch::Tensor s = sin.unsqueeze(1);
  const torch::Tensor qf = q.to(torch::kFloat32);
  const torch::Tensor kf = k.to(torch::kFloat32);
  q = (qf * c + rotate_half(qf) * s).to(x.scalar_type());
  k = (kf * c + rotate_half(kf) * s).to(x.scalar_type());

  // Attention within each segment only (one image frame), never across images.
  std::vector<torch::Tensor> outputs;
  outputs.reserve(segments.size());
  std::int64_t begin = 0;
  for (const std::int64_t len : segments) {
    const torch::Tensor qs = q.narrow(0, begin, len).transpose(0, 1);  // [heads, len, hd]
    const torch::Tensor ks = k.narrow(0, begin, len).transpose(0, 1);
    const torch::Tensor vs = v.narrow(0, begin, len).transpose(0, 1);
    const torch::Tensor scores = attention_matmul(qs, ks.transpose(1, 2)) * scale;
    const torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(x.scalar_type());
    outputs.push_back(attention_matmul(probs, vs).transpose(0, 1));  // [len, heads, hd]
    begin += len;
  }
  const torch::Tensor attn = torch::cat(outputs, 0).reshape({n, dim});
  const torch::Tensor h = x + proj(attn);
  return h + fc2(activation(fc1(norm2(h)), act_));
}

VisionTowerImpl::VisionTowerImpl(const Qwen2VLVisionConfig& config,
                                 const torch::TensorOptions& options)
    : config_(config) {
  const std::int64_t patch_dim = static_cast<std::int64_t>(config.in_channels) *
                                 config.temporal_patch_size * config.patch_size * config.patch_size;
  auto pe = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  patch_embed =
      pe->register_module("proj", LoraLinear(patch_dim, config.embed_dim, false, options));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < config.depth; ++i) blocks->push_back(VisionBlock(config, options));
  const std::int64_t merged = static_cast<std::int64_t>(config.embed_dim) *
                              config.spatial_merge_size * config.spatial_merge_size;
  auto merger = register_module("merger", std::make_shared<torch::nn::Module>());
  merger_ln_q = merger->register_module("ln_q", LayerNorm(config.embed_dim, 1e-6, options));
  auto mlp = merger->register_module("mlp", std::make_shared<torch::nn::Module>());
  merger_fc1 = mlp->register_module("0", LoraLinear(merged, merged, true, options));
  merger_fc2 = mlp->register_module("2", LoraLinear(merged, config.hidden_size, true, options));

  const std::int64_t head_dim = config.embed_dim / config.num_heads;
  const std::int64_t spatial = head_dim / 2;
  inv_freq_ =
      1.0 / torch::pow(10000.0, torch::arange(0, spatial, 2, torch::kInt64).to(torch::kFloat32) /
                                    static_cast<float>(spatial));
  inv_freq_ = inv_freq_.to(torch::kFloat32).to(options.device());
}

VisionOutput VisionTowerImpl::forward(const torch::Tensor& pixel_values,
                                      const std::vector<GridThw>& grids) {
  const std::int64_t merge = config_.spatial_merge_size;
  std::vector<std::int64_t> segments;
  std::vector<std::int64_t> hw;  // (h, w) per patch, in the processor's merge-window order
  std::int64_t total = 0;
  for (const GridThw& g : grids) {
    if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % merge != 0 || g.w % merge != 0) {
      throw core::Error("vision tower: image grid (" + std::to_string(g.t) + ", " +
                        std::to_string(g.h) + ", " + std::to_string(g.w) +
                        ") is not a positive multiple of the merge size " + std::to_string(merge));
    }
    for (std::int64_t t = 0; t < g.t; ++t) {
      segments.push_back(g.h * g.w);
      for (std::int64_t bh = 0; bh < g.h / merge; ++bh) {
        for (std::int64_t bw = 0; bw < g.w / merge; ++bw) {
          for (std::int64_t mh = 0; mh < merge; ++mh) {
            for (std::int64_t mw = 0; mw < merge; ++mw) {
              hw.push_back(bh * merge + mh);
              hw.push_back(bw * merge + mw);
            }
          }
        }
      }
    }
    total += g.t * g.h * g.w;
  }
  const std::int64_t patch_dim = patch_embed->in_features();
  if (pixel_values.dim() != 2 || pixel_values.size(0) != total ||
      pixel_values.size(1) != patch_dim) {
    throw core::Error("vision tower: pixel_values " + c10::str(pixel_values.sizes()) +
                      " do not match the image grids (" + std::to_string(total) + " patches of " +
                      std::to_string(patch_dim) + " values expected)");
  }

  // 2D rotary: the first half of each head's frequencies follow the row, the second the column.
  const torch::Device device = patch_embed->weight.device();
  const torch::Tensor pos =
      torch::tensor(hw, torch::kInt64).view({total, 2}).to(device).to(torch::kFloat32);
  const torch::Tensor freqs = pos.unsqueeze(-1) * inv_freq_.to(device);  // [N, 2, hd/4]
  const torch::Tensor half = torch::cat({freqs.select(1, 0), freqs.select(1, 1)}, -1);
  const torch::Tensor emb = torch::cat({half, half}, -1);  // [N, hd]
  const torch::Tensor cos = emb.cos();
  const torch::Tensor sin = emb.sin();

  VisionOutput out;
  const auto dtype = patch_embed->weight.scalar_type();
  out.patch_embed = patch_embed(pixel_values.to(patch_embed->weight.device(), dtype));
  torch::Tensor x = out.patch_embed;
  for (const auto& block : *blocks) {
    x = block->as<VisionBlockImpl>()->forward(x, cos, sin, segments);
  }
  out.last_hidden_state = x;
  const torch::Tensor grouped = merger_ln_q(x).reshape({-1, merger_fc1->in_features()});
  out.merged = merger_fc2(torch::gelu(merger_fc1(grouped)));
  return out;
}

}  // namespace mat::engine

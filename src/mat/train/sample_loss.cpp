#include "mat/train/sample_loss.h"

#include <torch/torch.h>

#include "mat/core/error.h"
#include "mat/train/activation_checkpoint.h"

namespace mat::train {

namespace {

// Pixel values of every image, stacked as the vision tower takes them, and their grids.
std::pair<torch::Tensor, std::vector<engine::GridThw>> vision_input(const Sample& sample) {
  std::vector<torch::Tensor> parts;
  std::vector<engine::GridThw> grids;
  for (const engine::ProcessedImage& image : sample.images) {
    if (static_cast<std::int64_t>(image.pixel_values.size()) !=
        image.num_patches() * image.patch_dim) {
      throw core::Error("sample '" + sample.id + "': an image has " +
                        std::to_string(image.pixel_values.size()) + " pixel values for " +
                        std::to_string(image.num_patches()) + " patches of " +
                        std::to_string(image.patch_dim));
    }
    parts.push_back(torch::from_blob(const_cast<float*>(image.pixel_values.data()),
                                     {image.num_patches(), image.patch_dim}, torch::kFloat32));
    grids.push_back({image.grid_t, image.grid_h, image.grid_w});
  }
  return {torch::cat(parts, 0), grids};
}

}  // namespace

std::int64_t loss_tokens(const Sample& sample) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < sample.is_target.size(); ++i) n += sample.is_target[i] != 0;
  return n;
}

LossSum sample_loss(engine::Qwen2VLModelImpl& model, const Sample& sample, bool checkpoint_layers) {
  const auto n = static_cast<std::int64_t>(sample.ids.size());
  if (sample.is_target.size() != sample.ids.size()) {
    throw core::Error("sample '" + sample.id + "': " + std::to_string(sample.ids.size()) +
                      " token ids but " + std::to_string(sample.is_target.size()) +
                      " target flags; they must be equal in length");
  }
  const torch::Device device = model.language_model->embed_tokens.device();
  torch::Tensor image_embeds;
  std::vector<engine::GridThw> grids;
  if (!sample.images.empty()) {
    auto [pixels, g] = vision_input(sample);
    grids = std::move(g);
    torch::NoGradGuard frozen;
    image_embeds = model.visual->forward(pixels.to(device), grids).merged;
  }
  const torch::Tensor ids =
      torch::from_blob(const_cast<std::int32_t*>(sample.ids.data()), {1, n}, torch::kInt32)
          .to(device, torch::kInt64);
  torch::Tensor x = model.embed(ids, image_embeds);

  engine::TextDecoderImpl& decoder = *model.language_model;
  const engine::Rope rope = decoder.rope(model.position_ids(sample.ids, grids));
  const torch::Tensor mask = engine::TextDecoderImpl::causal_mask(n, 0, device);
  for (const auto& module : *decoder.layers) {
    auto& layer = *module->as<engine::DecoderLayerImpl>();
    x = checkpoint_layers ? checkpointed_layer(layer, x, rope, mask) : layer.forward(x, rope, mask);
  }

  // Position i predicts token i + 1: keep the positions whose next token is a target.
  std::vector<std::int64_t> positions;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i + 1 < n; ++i) {
    if (sample.is_target[i + 1] != 0) {
      positions.push_back(i);
      labels.push_back(sample.ids[i + 1]);
    }
  }
  LossSum out{torch::zeros({}, torch::kFloat32).to(device),
              static_cast<std::int64_t>(positions.size())};
  if (positions.empty()) return out;
  const torch::Tensor at = torch::tensor(positions, torch::kInt64).to(device);
  const torch::Tensor hidden = decoder.norm(x[0].index_select(0, at));
  const torch::Tensor logits = model.logits(hidden);  // float32
  out.sum = torch::nn::functional::cross_entropy(
      logits, torch::tensor(labels, torch::kInt64).to(device),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return out;
}

}  // namespace mat::train

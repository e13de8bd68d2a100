#include "mat/train/causal_lm_loss.h"

#include <torch/torch.h>

#include "mat/train/activation_checkpoint.h"

namespace mat::train {

torch::Tensor causal_lm_loss(engine::Qwen2VLModelImpl& model, const torch::Tensor& ids,
                             bool checkpoint_layers) {
  const std::int64_t batch = ids.size(0);
  const std::int64_t length = ids.size(1);
  const torch::Device device = ids.device();
  torch::Tensor x = model.embed(ids, torch::Tensor());
  engine::TextDecoderImpl& decoder = *model.language_model;
  const torch::Tensor positions =
      torch::arange(length, torch::TensorOptions().dtype(torch::kInt64).device(device))
          .expand({3, batch, length});
  const engine::Rope rope = decoder.rope(positions);
  const torch::Tensor mask = engine::TextDecoderImpl::causal_mask(length, 0, device);
  for (const auto& module : *decoder.layers) {
    auto& layer = *module->as<engine::DecoderLayerImpl>();
    x = checkpoint_layers ? checkpointed_layer(layer, x, rope, mask) : layer.forward(x, rope, mask);
  }
  const torch::Tensor hidden = decoder.norm(x.narrow(1, 0, length - 1));
  const torch::Tensor logits = model.logits(hidden);  // float32 [B, L - 1, vocab]
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              ids.narrow(1, 1, length - 1).reshape({-1}));
}

}  // namespace mat::train

#include "mat/train/language_model_weights.h"

#include <torch/torch.h>

namespace mat::train {

std::map<std::string, torch::Tensor> train_language_model_weights(engine::Qwen2VLModelImpl& model) {
  std::map<std::string, torch::Tensor> params;
  for (auto& item : model.named_parameters(true)) {
    const bool vision = item.key().rfind("visual.", 0) == 0;
    item.value().set_requires_grad(!vision);
    if (!vision) params.emplace(item.key(), item.value());
  }
  return params;
}

}  // namespace mat::train

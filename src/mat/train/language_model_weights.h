// The weights that pretraining and full fine-tuning (`mat train --full`) train: every parameter of
// the language model and its head, under the model's own names. Torch header: include it only from
// the trainer.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

#include "mat/engine/qwen2vl_model.h"

namespace mat::train {

// Makes every language-model parameter trainable and freezes the vision tower (a tiny controller
// reads the tools' results, and the trajectories hold too few images to train it); returns the
// trainable ones by name.
std::map<std::string, torch::Tensor> train_language_model_weights(engine::Qwen2VLModelImpl& model);

}  // namespace mat::train

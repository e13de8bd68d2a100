// The pretraining loss: mean next-token cross-entropy over a batch of text windows, every
// position a target (the logits at i predict token i + 1), text-only positions (M-RoPE's three
// components equal). Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include "mat/engine/qwen2vl_model.h"

namespace mat::train {

// ids: [B, L] int64 on the model's device. With `checkpoint_layers`, every decoder layer is
// recomputed in backward instead of stored.
torch::Tensor causal_lm_loss(engine::Qwen2VLModelImpl& model, const torch::Tensor& ids,
                             bool checkpoint_layers = false);

}  // namespace mat::train

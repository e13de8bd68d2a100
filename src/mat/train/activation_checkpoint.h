// Activation checkpointing per decoder layer: the forward pass keeps only the layer's input; the
// backward pass runs the layer again with gradients on and differentiates that. Memory for a
// long sample then grows with one layer's activations instead of all of them, for about one
// extra forward pass of compute. libtorch's C++ API has no checkpoint utility, hence this
// torch::autograd::Function. Dropout draws the same masks in the recomputation (the CPU
// generator's state is saved with the input and restored around it).
// Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include "mat/engine/qwen2vl_model.h"

namespace mat::train {

// layer(x, rope, mask) with the same value and the same gradients (for x and for every
// parameter of the layer that requires one), without keeping the layer's activations.
torch::Tensor checkpointed_layer(engine::DecoderLayerImpl& layer, const torch::Tensor& x,
                                 const engine::Rope& rope, const torch::Tensor& mask);

}  // namespace mat::train

// The training loss of one sample: cross-entropy of the model's next-token prediction at every
// position whose next token is a target (labels shifted as Hugging Face does: the logits at i
// predict token i + 1). The sum is returned with its token count so that a batch can be
// normalised by its total target count (the mean over all target tokens of an optimizer step).
// Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "mat/engine/qwen2vl_model.h"
#include "mat/train/sample.h"

namespace mat::train {

struct LossSum {
  torch::Tensor sum;        // float32 scalar, differentiable
  std::int64_t tokens = 0;  // the predicted target tokens
};

// The number of tokens the loss counts: targets after the first position.
std::int64_t loss_tokens(const Sample& sample);

// Forward pass of one sample (vision tower under no-grad: it is frozen) and its summed target
// cross-entropy. Only the positions that predict a target reach the head (the vocabulary
// projection of all positions would dominate memory on long samples). With
// `checkpoint_layers`, every decoder layer is recomputed in backward instead of stored.
// Throws core::Error when the ids and mask disagree in length or the images do not fit the
// <|image_pad|> runs.
LossSum sample_loss(engine::Qwen2VLModelImpl& model, const Sample& sample,
                    bool checkpoint_layers = false);

// The summed loss of several samples in one sequence that holds the beginning they share (the
// system prompt, for samples of one prompt version) once, followed by the rest of each, which
// attends to that prefix and to itself only, at the positions it has in its own sample. The same
// value (up to rounding) and gradients as the sum of sample_loss over them, for far fewer tokens
// when prompts are long and answers short; the activations of all of them are held at once.
LossSum shared_prefix_loss(engine::Qwen2VLModelImpl& model,
                           const std::vector<const Sample*>& samples,
                           bool checkpoint_layers = false);
// The prefix it shares: the tokens all samples begin with, up to (not including) the first image
// (whose pad run the sequence must hold once per sample) and the first target (counted once per
// sample), leaving each sample at least one token of its own.
std::size_t shared_prefix_length(const std::vector<const Sample*>& samples,
                                 const engine::Qwen2VLConfig& config);

}  // namespace mat::train

#include "mat/train/sample_loss.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "mat/core/error.h"
#include "mat/train/activation_checkpoint.h"

namespace mat::train {

namespace {

// Pixel values of every image of `samples`, stacked as the vision tower takes them, and their
// grids.
std::pair<torch::Tensor, std::vector<engine::GridThw>> vision_input(
    const std::vector<const Sample*>& samples) {
  std::vector<torch::Tensor> parts;
  std::vector<engine::GridThw> grids;
  for (const Sample* sample : samples) {
    for (const engine::ProcessedImage& image : sample->images) {
      if (static_cast<std::int64_t>(image.pixel_values.size()) !=
          image.num_patches() * image.patch_dim) {
        throw core::Error("sample '" + sample->id + "': an image has " +
                          std::to_string(image.pixel_values.size()) + " pixel values for " +
                          std::to_string(image.num_patches()) + " patches of " +
                          std::to_string(image.patch_dim));
      }
      parts.push_back(torch::from_blob(const_cast<float*>(image.pixel_values.data()),
                                       {image.num_patches(), image.patch_dim}, torch::kFloat32));
      grids.push_back({image.grid_t, image.grid_h, image.grid_w});
    }
  }
  if (parts.empty()) return {};
  return {torch::cat(parts, 0), grids};
}

std::vector<engine::GridThw> grids_of(const Sample& sample) {
  std::vector<engine::GridThw> grids;
  for (const engine::ProcessedImage& image : sample.images) {
    grids.push_back({image.grid_t, image.grid_h, image.grid_w});
  }
  return grids;
}

void check_lengths(const Sample& sample) {
  if (sample.is_target.size() != sample.ids.size()) {
    throw core::Error("sample '" + sample.id + "': " + std::to_string(sample.ids.size()) +
                      " token ids but " + std::to_string(sample.is_target.size()) +
                      " target flags; they must be equal in length");
  }
}

// One sequence through the model: its ids, M-RoPE positions [3, 1, L] and, for several samples
// packed together, their layout (else it is causal); the images of `samples` in the order of its
// pad runs; the summed cross-entropy of `labels` predicted at `at` (positions in the sequence).
struct Sequence {
  std::vector<std::int32_t> ids;
  torch::Tensor positions;
  std::optional<engine::SharedPrefixLayout> packed;
  std::vector<std::int64_t> at;
  std::vector<std::int64_t> labels;
};

// The layout as an additive mask [L, L] (what a checkpointed layer takes): a position sees the
// positions before it in the prefix or in its own part.
torch::Tensor dense_mask(const engine::SharedPrefixLayout& layout) {
  std::vector<std::int64_t> segment(static_cast<std::size_t>(layout.prefix), 0);
  for (std::size_t k = 0; k < layout.parts.size(); ++k) {
    segment.insert(segment.end(), static_cast<std::size_t>(layout.parts[k]),
                   static_cast<std::int64_t>(k + 1));
  }
  const auto n = static_cast<std::int64_t>(segment.size());
  const torch::Tensor seg = torch::tensor(segment, torch::kInt64);
  const torch::Tensor index = torch::arange(n, torch::kInt64);
  const torch::Tensor visible = index.unsqueeze(0).le(index.unsqueeze(1)) &
                                (seg.unsqueeze(0).eq(0) | seg.unsqueeze(0).eq(seg.unsqueeze(1)));
  return torch::zeros({n, n}, torch::kFloat32)
      .masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity());
}

LossSum sequence_loss(engine::Qwen2VLModelImpl& model, const Sequence& seq,
                      const std::vector<const Sample*>& samples, bool checkpoint_layers) {
  const torch::Device device = model.language_model->embed_tokens.device();
  torch::Tensor image_embeds;
  if (auto [pixels, grids] = vision_input(samples); pixels.defined()) {
    torch::NoGradGuard frozen;
    image_embeds = model.visual->forward(pixels.to(device), grids).merged;
  }
  const auto n = static_cast<std::int64_t>(seq.ids.size());
  const torch::Tensor ids =
      torch::from_blob(const_cast<std::int32_t*>(seq.ids.data()), {1, n}, torch::kInt32)
          .to(device, torch::kInt64);
  torch::Tensor x = model.embed(ids, image_embeds);

  engine::TextDecoderImpl& decoder = *model.language_model;
  const engine::Rope rope = decoder.rope(seq.positions);
  torch::Tensor mask;
  if (!seq.packed) {
    mask = engine::TextDecoderImpl::causal_mask(n, 0, device);
  } else if (checkpoint_layers) {
    mask = dense_mask(*seq.packed).to(device);
  }
  for (const auto& module : *decoder.layers) {
    auto& layer = *module->as<engine::DecoderLayerImpl>();
    if (checkpoint_layers) {
      x = checkpointed_layer(layer, x, rope, mask);
    } else {
      x = seq.packed ? layer.forward(x, rope, *seq.packed) : layer.forward(x, rope, mask);
    }
  }
  LossSum out{torch::zeros({}, torch::kFloat32).to(device),
              static_cast<std::int64_t>(seq.at.size())};
  if (seq.at.empty()) return out;
  const torch::Tensor at = torch::tensor(seq.at, torch::kInt64).to(device);
  const torch::Tensor hidden = decoder.norm(x[0].index_select(0, at));
  const torch::Tensor logits = model.logits(hidden);  // float32
  out.sum = torch::nn::functional::cross_entropy(
      logits, torch::tensor(seq.labels, torch::kInt64).to(device),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return out;
}

// Position i predicts token i + 1: the positions (from `from`) whose next token is a target, moved
// by `offset` into the sequence.
void add_targets(const Sample& sample, std::size_t from, std::int64_t offset, Sequence& seq) {
  for (std::size_t i = from; i + 1 < sample.ids.size(); ++i) {
    if (sample.is_target[i + 1] != 0) {
      seq.at.push_back(static_cast<std::int64_t>(i) + offset);
      seq.labels.push_back(sample.ids[i + 1]);
    }
  }
}

}  // namespace

std::int64_t loss_tokens(const Sample& sample) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < sample.is_target.size(); ++i) n += sample.is_target[i] != 0;
  return n;
}

LossSum sample_loss(engine::Qwen2VLModelImpl& model, const Sample& sample, bool checkpoint_layers) {
  check_lengths(sample);
  Sequence seq{sample.ids, model.position_ids(sample.ids, grids_of(sample)), std::nullopt, {}, {}};
  add_targets(sample, 0, 0, seq);
  return sequence_loss(model, seq, {&sample}, checkpoint_layers);
}

std::size_t shared_prefix_length(const std::vector<const Sample*>& samples,
                                 const engine::Qwen2VLConfig& config) {
  const int image_token_id = config.image_token_id;
  const int vision_start_token_id = config.vision_start_token_id;
  for (const Sample* s : samples) {
    if (s->ids.empty() || s->is_target.size() != s->ids.size()) return 0;
  }
  const Sample& first = *samples.front();
  std::size_t length = first.ids.size() - 1;
  for (const Sample* s : samples) {
    length = std::min(length, s->ids.size() - 1);
    std::size_t i = 0;
    while (i < length && s->ids[i] == first.ids[i] && s->is_target[i + 1] == 0 &&
           s->ids[i] != image_token_id && s->ids[i] != vision_start_token_id) {
      ++i;
    }
    length = i;
  }
  return length;
}

LossSum shared_prefix_loss(engine::Qwen2VLModelImpl& model,
                           const std::vector<const Sample*>& samples, bool checkpoint_layers) {
  if (samples.size() == 1) return sample_loss(model, *samples.front(), checkpoint_layers);
  for (const Sample* s : samples) {
    check_lengths(*s);
    if (s->ids.empty()) throw core::Error("sample '" + s->id + "' has no tokens");
  }
  const std::size_t prefix = shared_prefix_length(samples, model.config());
  Sequence seq;
  seq.ids.assign(samples.front()->ids.begin(),
                 samples.front()->ids.begin() + static_cast<std::ptrdiff_t>(prefix));
  std::vector<torch::Tensor> positions;
  engine::SharedPrefixLayout layout{static_cast<std::int64_t>(prefix), {}};
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const Sample& s = *samples[k];
    // Each rest keeps the positions it has in its own sample (the prefix's are the same in all).
    const torch::Tensor own = model.position_ids(s.ids, grids_of(s));
    if (k == 0) positions.push_back(own.narrow(2, 0, static_cast<std::int64_t>(prefix)));
    const auto rest = static_cast<std::int64_t>(s.ids.size() - prefix);
    positions.push_back(own.narrow(2, static_cast<std::int64_t>(prefix), rest));
    add_targets(s, prefix, static_cast<std::int64_t>(seq.ids.size() - prefix), seq);
    seq.ids.insert(seq.ids.end(), s.ids.begin() + static_cast<std::ptrdiff_t>(prefix), s.ids.end());
    layout.parts.push_back(rest);
  }
  seq.positions = torch::cat(positions, 2);
  seq.packed = std::move(layout);
  return sequence_loss(model, seq, samples, checkpoint_layers);
}

}  // namespace mat::train

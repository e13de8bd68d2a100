#include "mat/engine/generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "mat/core/error.h"
#include "mat/engine/mrope.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::vector<float> to_vector(const torch::Tensor& logits) {
  const torch::Tensor cpu = logits.reshape({-1}).to(torch::kCPU, torch::kFloat32).contiguous();
  return {cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel()};
}

}  // namespace

GenerationResult generate(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                          const PromptInput& prompt, const SamplingParams& params,
                          const TextCallback& on_text, const CancelCheck& cancel) {
  c10::InferenceMode inference;
  const auto start = std::chrono::steady_clock::now();
  const Qwen2VLConfig& config = model.config();
  GenerationResult result;
  const auto length = static_cast<std::int64_t>(prompt.ids.size());
  result.prompt_tokens = length;
  if (length == 0) throw core::Error("generate: the prompt is empty");
  const std::int64_t max_tokens = std::max(0, params.max_tokens);
  if (length + max_tokens > config.text.max_position_embeddings) {
    throw core::Error("generate: prompt (" + std::to_string(length) + " tokens) plus max_tokens (" +
                      std::to_string(max_tokens) + ") exceed the model's context of " +
                      std::to_string(config.text.max_position_embeddings) + " tokens");
  }

  // Images: one vision pass for all of them.
  std::vector<GridThw> grids;
  torch::Tensor image_embeds;
  if (!prompt.images.empty()) {
    std::vector<torch::Tensor> pixels;
    for (const ProcessedImage& image : prompt.images) {
      grids.push_back({image.grid_t, image.grid_h, image.grid_w});
      pixels.push_back(torch::from_blob(const_cast<float*>(image.pixel_values.data()),
                                        {image.num_patches(), image.patch_dim}, torch::kFloat32));
    }
    image_embeds = model.visual->forward(torch::cat(pixels, 0), grids).merged;
  }
  const MropePositions pos =
      mrope_positions(prompt.ids, config.image_token_id, grids, config.vision.spatial_merge_size);
  std::vector<std::int64_t> flat;
  flat.reserve(3 * prompt.ids.size());
  flat.insert(flat.end(), pos.temporal.begin(), pos.temporal.end());
  flat.insert(flat.end(), pos.height.begin(), pos.height.end());
  flat.insert(flat.end(), pos.width.begin(), pos.width.end());
  const torch::Tensor positions = torch::tensor(flat, torch::kInt64).view({3, 1, length});
  const torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.ids.begin(), prompt.ids.end()), torch::kInt64)
          .view({1, length});

  KvCache cache =
      model.language_model->make_cache(1, length + std::max<std::int64_t>(max_tokens, 1));
  torch::Tensor hidden =
      model.language_model->forward(model.embed(ids, image_embeds), positions, &cache);
  std::vector<float> logits = to_vector(model.logits(hidden.select(1, length - 1)));
  result.prefill_ms = ms_since(start);

  Sampler sampler(params);
  StopStreamer streamer(params.stop);
  std::vector<std::int32_t> history = prompt.ids;
  std::string text;
  const auto decode_start = std::chrono::steady_clock::now();
  result.finish_reason = "length";
  while (static_cast<std::int64_t>(result.ids.size()) < max_tokens) {
    if (cancel && cancel()) {
      result.finish_reason = "cancelled";
      break;
    }
    const std::int32_t next = sampler.next(logits, history);
    result.ids.push_back(next);
    history.push_back(next);
    if (std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), next) !=
        params.stop_token_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    std::vector<std::int32_t> visible = result.ids;
    text = tokenizer.decode(visible);
    const std::string piece = streamer.update(text);
    if (!piece.empty() && on_text) on_text(piece);
    if (streamer.stopped()) {
      result.finish_reason = "stop";
      break;
    }
    if (static_cast<std::int64_t>(result.ids.size()) >= max_tokens) break;
    // Generated tokens advance all three axes together, past the prompt's largest position.
    const std::int64_t p = static_cast<std::int64_t>(history.size()) - 1 + pos.rope_delta;
    const torch::Tensor step_pos = torch::full({3, 1, 1}, p, torch::kInt64);
    const torch::Tensor step_ids =
        torch::full({1, 1}, static_cast<std::int64_t>(next), torch::kInt64);
    hidden = model.language_model->forward(model.embed(step_ids, {}), step_pos, &cache);
    logits = to_vector(model.logits(hidden.select(1, 0)));
  }
  if (result.finish_reason != "stop" || !streamer.stopped()) {
    // Stopped by a token, the length or a cancel: release what was held back.
    const std::string piece = streamer.finish(text);
    if (!piece.empty() && on_text) on_text(piece);
  }
  result.text = streamer.text();
  result.decode_ms = ms_since(decode_start);
  return result;
}

}  // namespace mat::engine

#include "mat/engine/generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "mat/core/error.h"
#include "mat/engine/mrope.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<float> to_vector(const torch::Tensor& logits) {
  const torch::Tensor cpu = logits.reshape({-1}).to(torch::kCPU, torch::kFloat32).contiguous();
  return {cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel()};
}

// One sequence of a batch while it decodes.
struct Sequence {
  const GenerationRequest* request;
  Sampler sampler;
  StopStreamer streamer;
  std::vector<std::int32_t> history;  // prompt and generated tokens (repetition penalty)
  std::string text;                   // the decoded generated tokens
  std::vector<float> logits;          // of the next token
  std::int64_t rope_delta = 0;
  bool done = false;
  GenerationResult result;

  explicit Sequence(const GenerationRequest& r)
      : request(&r), sampler(r.params), streamer(r.params.stop), history(r.prompt->ids) {
    result.prompt_tokens = static_cast<std::int64_t>(r.prompt->ids.size());
    result.finish_reason = "length";
  }

  std::int64_t max_tokens() const { return std::max(0, request->params.max_tokens); }

  void emit(const std::string& piece) const {
    if (!piece.empty() && request->on_text) request->on_text(piece);
  }

  // Samples the next token and streams its text; marks the sequence done when it ends.
  void step() {
    if (static_cast<std::int64_t>(result.ids.size()) >= max_tokens()) return finish();
    if (request->cancel && request->cancel()) {
      result.finish_reason = "cancelled";
      return finish();
    }
    const std::int32_t next = sampler.next(logits, history);
    result.ids.push_back(next);
    history.push_back(next);
    const std::vector<std::int32_t>& stops = request->params.stop_token_ids;
    if (std::find(stops.begin(), stops.end(), next) != stops.end()) {
      result.finish_reason = "stop";
      return finish();
    }
  }

  void stream(const Tokenizer& tokenizer) {
    text = tokenizer.decode(result.ids);
    emit(streamer.update(text));
    if (streamer.stopped()) {
      result.finish_reason = "stop";
      finish();
    } else if (static_cast<std::int64_t>(result.ids.size()) >= max_tokens()) {
      finish();
    }
  }

  void finish() {
    // Ended by a token, the length or a cancel: release what was held back.
    if (!streamer.stopped()) emit(streamer.finish(text));
    result.text = streamer.text();
    done = true;
  }

  // The position of the token just generated: generated tokens advance all three axes together,
  // past the prompt's largest position.
  std::int64_t position() const {
    return static_cast<std::int64_t>(history.size()) - 1 + rope_delta;
  }
};

void check_fits(const GenerationRequest& request, std::size_t index, std::int64_t context) {
  if (request.prompt == nullptr || request.prompt->ids.empty()) {
    throw core::Error("generate: the prompt of request " + std::to_string(index) + " is empty");
  }
  const auto length = static_cast<std::int64_t>(request.prompt->ids.size());
  const std::int64_t max_tokens = std::max(0, request.params.max_tokens);
  if (length + max_tokens > context) {
    throw core::Error("generate: prompt (" + std::to_string(length) + " tokens) plus max_tokens (" +
                      std::to_string(max_tokens) + ") exceed the model's context of " +
                      std::to_string(context) + " tokens");
  }
}

// The rows of `batch` that one sequence fills: `length` slots from `offset`.
KvCache row_view(const KvCache& batch, std::int64_t row, std::int64_t offset, std::int64_t length) {
  KvCache view;
  view.capacity = length;
  for (std::size_t l = 0; l < batch.keys.size(); ++l) {
    view.keys.push_back(batch.keys[l].narrow(0, row, 1).narrow(2, offset, length));
    view.values.push_back(batch.values[l].narrow(0, row, 1).narrow(2, offset, length));
  }
  return view;
}

// The prompt's forward pass (its images in one vision pass) into `cache`; returns the logits of
// the next token and sets the sequence's rope delta.
std::vector<float> prefill(Qwen2VLModelImpl& model, Sequence& sequence, KvCache& cache) {
  const Qwen2VLConfig& config = model.config();
  const PromptInput& prompt = *sequence.request->prompt;
  const auto length = static_cast<std::int64_t>(prompt.ids.size());
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
  sequence.rope_delta = pos.rope_delta;
  std::vector<std::int64_t> flat;
  flat.reserve(3 * prompt.ids.size());
  flat.insert(flat.end(), pos.temporal.begin(), pos.temporal.end());
  flat.insert(flat.end(), pos.height.begin(), pos.height.end());
  flat.insert(flat.end(), pos.width.begin(), pos.width.end());
  const torch::Tensor positions = torch::tensor(flat, torch::kInt64).view({3, 1, length});
  const torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.ids.begin(), prompt.ids.end()), torch::kInt64)
          .view({1, length});
  const torch::Tensor hidden =
      model.language_model->forward(model.embed(ids, image_embeds), positions, &cache);
  return to_vector(model.logits(hidden.select(1, length - 1)));
}

}  // namespace

std::vector<GenerationResult> generate_batch(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                                             const std::vector<GenerationRequest>& requests) {
  c10::InferenceMode inference;
  const std::int64_t context = model.config().text.max_position_embeddings;
  std::int64_t longest = 0;
  std::int64_t most_new = 1;
  std::vector<Sequence> sequences;
  sequences.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    check_fits(requests[i], i, context);
    sequences.emplace_back(requests[i]);
    longest = std::max(longest, sequences.back().result.prompt_tokens);
    most_new = std::max(most_new, sequences.back().max_tokens());
  }
  if (sequences.empty()) return {};

  // Every prompt ends at slot `longest`, so that the batch decodes into the same slot each step.
  const auto batch = static_cast<std::int64_t>(sequences.size());
  KvCache cache = model.language_model->make_cache(batch, longest + most_new);
  torch::Tensor padding = torch::zeros({batch, cache.capacity}, torch::kFloat32);
  bool padded = false;
  for (std::int64_t row = 0; row < batch; ++row) {
    Sequence& s = sequences[static_cast<std::size_t>(row)];
    const auto start = Clock::now();
    const std::int64_t offset = longest - s.result.prompt_tokens;
    KvCache view = row_view(cache, row, offset, s.result.prompt_tokens);
    s.logits = prefill(model, s, view);
    s.result.prefill_ms = ms_since(start);
    if (offset > 0) {
      padding[row].narrow(0, 0, offset).fill_(-std::numeric_limits<float>::infinity());
      padded = true;
    }
  }
  cache.length = longest;
  if (padded) cache.padding = padding.to(model.language_model->embed_tokens.device());

  const auto decode_start = Clock::now();
  std::vector<std::int64_t> step_ids(static_cast<std::size_t>(batch));
  std::vector<std::int64_t> step_pos(static_cast<std::size_t>(batch));
  for (;;) {
    bool active = false;
    for (std::size_t row = 0; row < sequences.size(); ++row) {
      Sequence& s = sequences[row];
      if (!s.done) {
        s.step();
        if (!s.done) s.stream(tokenizer);
        if (s.done) s.result.decode_ms = ms_since(decode_start);
      }
      active = active || !s.done;
      // A finished row keeps stepping on its last token (its output is ignored): the batch
      // keeps its shape.
      step_ids[row] = s.history.back();
      step_pos[row] = s.position();
    }
    if (!active) break;
    const torch::Tensor ids = torch::tensor(step_ids, torch::kInt64).view({batch, 1});
    const torch::Tensor positions =
        torch::tensor(step_pos, torch::kInt64).view({1, batch, 1}).expand({3, batch, 1});
    const torch::Tensor hidden =
        model.language_model->forward(model.embed(ids, {}), positions, &cache);
    const torch::Tensor logits = model.logits(hidden.select(1, 0));  // [B, vocab]
    for (std::size_t row = 0; row < sequences.size(); ++row) {
      if (!sequences[row].done) {
        sequences[row].logits = to_vector(logits[static_cast<std::int64_t>(row)]);
      }
    }
  }
  std::vector<GenerationResult> results;
  results.reserve(sequences.size());
  for (Sequence& s : sequences) results.push_back(std::move(s.result));
  return results;
}

GenerationResult generate(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                          const PromptInput& prompt, const SamplingParams& params,
                          const TextCallback& on_text, const CancelCheck& cancel) {
  return std::move(generate_batch(model, tokenizer, {{&prompt, params, on_text, cancel}}).front());
}

}  // namespace mat::engine

#include "mat/engine/generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "mat/core/error.h"
#include "mat/engine/mrope.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

struct PromptCache::State {
  std::vector<std::int32_t> ids;       // the tokens whose keys and values `kv` holds
  std::vector<ProcessedImage> images;  // the images among them
  KvCache kv;                          // one row
};

PromptCache::PromptCache() : state_(std::make_unique<State>()) {}
PromptCache::~PromptCache() = default;

void PromptCache::clear() {
  *state_ = State{};
}

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

// What a prompt can take from a PromptCache: its first `tokens` positions, which hold its first
// `images` images.
struct Reuse {
  std::int64_t tokens = 0;
  std::size_t images = 0;
};

bool same_image(const ProcessedImage& a, const ProcessedImage& b) {
  return a.grid_t == b.grid_t && a.grid_h == b.grid_h && a.grid_w == b.grid_w &&
         a.pixel_values == b.pixel_values;
}

// The prompt's forward pass into `cache` from position `reuse.tokens` on (the positions before
// it are in `cache` already), the images after them in one vision pass; returns the logits of
// the next token and sets the sequence's rope delta.
std::vector<float> prefill(Qwen2VLModelImpl& model, Sequence& sequence, KvCache& cache,
                           const Reuse& reuse) {
  const Qwen2VLConfig& config = model.config();
  const PromptInput& prompt = *sequence.request->prompt;
  const auto length = static_cast<std::int64_t>(prompt.ids.size());
  std::vector<GridThw> grids;  // every image's: the positions after an image depend on it
  std::vector<torch::Tensor> pixels;
  for (std::size_t i = 0; i < prompt.images.size(); ++i) {
    const ProcessedImage& image = prompt.images[i];
    grids.push_back({image.grid_t, image.grid_h, image.grid_w});
    if (i < reuse.images) continue;
    pixels.push_back(torch::from_blob(const_cast<float*>(image.pixel_values.data()),
                                      {image.num_patches(), image.patch_dim}, torch::kFloat32));
  }
  torch::Tensor image_embeds;
  if (!pixels.empty()) {
    const std::vector<GridThw> new_grids(grids.begin() + static_cast<std::ptrdiff_t>(reuse.images),
                                         grids.end());
    image_embeds = model.visual->forward(torch::cat(pixels, 0), new_grids).merged;
  }
  const MropePositions pos =
      mrope_positions(prompt.ids, config.image_token_id, grids, config.vision.spatial_merge_size);
  sequence.rope_delta = pos.rope_delta;
  std::vector<std::int64_t> flat;
  flat.reserve(3 * prompt.ids.size());
  flat.insert(flat.end(), pos.temporal.begin(), pos.temporal.end());
  flat.insert(flat.end(), pos.height.begin(), pos.height.end());
  flat.insert(flat.end(), pos.width.begin(), pos.width.end());
  const std::int64_t fresh = length - reuse.tokens;
  const torch::Tensor positions =
      torch::tensor(flat, torch::kInt64).view({3, 1, length}).narrow(2, reuse.tokens, fresh);
  const torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.ids.begin() + reuse.tokens, prompt.ids.end()),
                    torch::kInt64)
          .view({1, fresh});
  cache.length = reuse.tokens;
  const torch::Tensor hidden =
      model.language_model->forward(model.embed(ids, image_embeds), positions, &cache);
  return to_vector(model.logits(hidden.select(1, fresh - 1)));
}

// The tokens `prompt` shares with the cache from its start, cut back to the start of the first
// image that differs or that they hold only part of, and to one short of the whole prompt (the
// last position must be computed: its logits give the next token).
Reuse reusable(const PromptCache::State& cached, const PromptInput& prompt,
               std::int32_t image_token) {
  const std::size_t limit = std::min(cached.ids.size(), prompt.ids.size() - 1);
  std::size_t same = 0;
  while (same < limit && cached.ids[same] == prompt.ids[same]) ++same;
  std::size_t image = 0;
  for (std::size_t start = 0; start < same; ++start) {
    if (prompt.ids[start] != image_token) continue;
    std::size_t end = start;  // an image is one run of its tokens
    while (end < prompt.ids.size() && prompt.ids[end] == image_token) ++end;
    if (end > same || image >= cached.images.size() || image >= prompt.images.size() ||
        !same_image(cached.images[image], prompt.images[image])) {
      return {static_cast<std::int64_t>(start), image};
    }
    ++image;
    start = end - 1;
  }
  return {static_cast<std::int64_t>(same), image};
}

}  // namespace

std::vector<GenerationResult> generate_batch(Qwen2VLModelImpl& model, const Tokenizer& tokenizer,
                                             const std::vector<GenerationRequest>& requests,
                                             PromptCache* prompt_cache) {
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
  if (batch > 1) prompt_cache = nullptr;
  Reuse reuse;
  if (prompt_cache != nullptr && !prompt_cache->state().ids.empty()) {
    const PromptCache::State& cached = prompt_cache->state();
    reuse = reusable(cached, *requests.front().prompt, model.config().image_token_id);
    for (std::size_t l = 0; l < cache.keys.size() && reuse.tokens > 0; ++l) {
      cache.keys[l].narrow(2, 0, reuse.tokens).copy_(cached.kv.keys[l].narrow(2, 0, reuse.tokens));
      cache.values[l]
          .narrow(2, 0, reuse.tokens)
          .copy_(cached.kv.values[l].narrow(2, 0, reuse.tokens));
    }
    sequences.front().result.cached_tokens = reuse.tokens;
  }
  torch::Tensor padding = torch::zeros({batch, cache.capacity}, torch::kFloat32);
  bool padded = false;
  for (std::int64_t row = 0; row < batch; ++row) {
    Sequence& s = sequences[static_cast<std::size_t>(row)];
    const auto start = Clock::now();
    const std::int64_t offset = longest - s.result.prompt_tokens;
    KvCache view = row_view(cache, row, offset, s.result.prompt_tokens);
    s.logits = prefill(model, s, view, reuse);
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
  if (prompt_cache != nullptr) {
    // The prompt and the generated tokens fed back; the last one sampled never was.
    PromptCache::State& cached = prompt_cache->state();
    const PromptInput& prompt = *requests.front().prompt;
    cached.ids = sequences.front().history;
    cached.ids.resize(static_cast<std::size_t>(cache.length));
    cached.images = prompt.images;
    cached.kv = std::move(cache);
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

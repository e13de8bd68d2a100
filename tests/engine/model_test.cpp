// The libtorch Qwen2-VL engine against the golden fixtures of the Hugging Face reference
// (tests/fixtures/golden/, made by tools/golden/make_fixtures.py in float32, eager attention):
// vision tower, hidden states and logits within kTolerance, greedy continuations identical, with
// and without the PEFT adapter, under both tensor naming schemes. Then the KV cache, LoRA merge,
// adapters per request, sampling, and every bad input the loaders must name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <iostream>

#include "engine/golden.h"
#include "mat/core/base64.h"
#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "mat/engine/generator.h"
#include "mat/engine/local_chat_model.h"
#include "mat/engine/local_engine.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"
#include "mat/engine/sampling.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// float32 against float32 on the same tiny model: the difference is summation order only.
// Measured maxima (libtorch 1.13 CPU): vision 1.1e-5 (patch embedding, last hidden state),
// 8.4e-7 (merged); logits 2.3e-5 without and 6.1e-5 with the adapter (logits reach ~6).
constexpr double kVisionTolerance = 1e-4;
constexpr double kLogitTolerance = 2e-4;

const std::vector<std::string> kPrompts = {"text_only", "text_system", "one_image", "two_images",
                                           "agent_multiturn"};

torch::Tensor fixture_tensor(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.at(name);
  if (info.dtype == DType::kI64) {
    std::vector<std::int64_t> v = file.to_i64(name);
    return torch::tensor(v, torch::kInt64).view(info.shape);
  }
  std::vector<float> v = file.to_f32(name);
  return torch::from_blob(v.data(), info.shape, torch::kFloat32).clone();
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9;
  return (a.to(torch::kCPU, torch::kFloat32) - b.to(torch::kCPU, torch::kFloat32))
      .abs()
      .max()
      .item<double>();
}

std::vector<std::int32_t> ids_of(const torch::Tensor& t) {
  std::vector<std::int32_t> out;
  const torch::Tensor c = t.to(torch::kInt64).contiguous();
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    out.push_back(static_cast<std::int32_t>(c.data_ptr<std::int64_t>()[i]));
  }
  return out;
}

struct Prompt {
  std::string name;
  PromptInput input;
  torch::Tensor pixel_values;
  std::vector<GridThw> grids;
  SafetensorsFile tensors;
};

Prompt load_prompt(const std::string& name) {
  SafetensorsFile file =
      SafetensorsFile::open(testing::golden_dir() / "prompts" / (name + ".safetensors"));
  Prompt p{name, {}, {}, {}, std::move(file)};
  p.input.ids = ids_of(fixture_tensor(p.tensors, "input_ids"));
  if (p.tensors.find("pixel_values") != nullptr) {
    p.pixel_values = fixture_tensor(p.tensors, "pixel_values");
    const torch::Tensor grid = fixture_tensor(p.tensors, "image_grid_thw");
    std::int64_t offset = 0;
    for (std::int64_t i = 0; i < grid.size(0); ++i) {
      GridThw g{grid[i][0].item<std::int64_t>(), grid[i][1].item<std::int64_t>(),
                grid[i][2].item<std::int64_t>()};
      p.grids.push_back(g);
      ProcessedImage image;
      image.grid_t = g.t;
      image.grid_h = g.h;
      image.grid_w = g.w;
      image.patch_dim = p.pixel_values.size(1);
      const torch::Tensor rows = p.pixel_values.narrow(0, offset, image.num_patches()).contiguous();
      image.pixel_values.assign(rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel());
      p.input.images.push_back(std::move(image));
      offset += g.t * g.h * g.w;
    }
  }
  return p;
}

// One model per (naming scheme, dtype), loaded once for the whole test program.
Qwen2VLModel& model_of(const std::string& dir, torch::Dtype dtype = torch::kFloat32) {
  static std::map<std::pair<std::string, int>, Qwen2VLModel> models;
  auto key = std::make_pair(dir, static_cast<int>(dtype));
  auto it = models.find(key);
  if (it == models.end()) {
    Qwen2VLModel m = load_qwen2vl_model(testing::golden_dir() / dir, {dtype, torch::kCPU});
    m->eval();
    it = models.emplace(key, m).first;
  }
  return it->second;
}

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(testing::golden_dir() / "model/tokenizer.json");
  return t;
}

GenerationResult greedy(Qwen2VLModelImpl& model, const PromptInput& input, int n = 16) {
  SamplingParams params;
  params.max_tokens = n;  // no stop ids: the fixtures do not stop at EOS
  return generate(model, tokenizer(), input, params);
}

struct SchemeCase {
  std::string model_dir;
  std::string lora_dir;
};

void PrintTo(const SchemeCase& c, std::ostream* os) {
  *os << c.model_dir << " + " << c.lora_dir;
}

class ModelGolden : public ::testing::TestWithParam<SchemeCase> {};

TEST_P(ModelGolden, VisionHiddenStatesLogitsAndGreedyMatchTheReference) {
  Qwen2VLModel& model = model_of(GetParam().model_dir);
  remove_adapter(*model, "golden");
  const int layers = model->config().text.num_hidden_layers;
  for (const std::string& name : kPrompts) {
    SCOPED_TRACE(name);
    const Prompt p = load_prompt(name);
    torch::NoGradGuard no_grad;
    // Vision tower, stage by stage.
    torch::Tensor image_embeds;
    if (!p.grids.empty()) {
      const VisionOutput v = model->visual->forward(p.pixel_values, p.grids);
      const double d_patch =
          max_diff(v.patch_embed, fixture_tensor(p.tensors, "vision_patch_embed"));
      const double d_last =
          max_diff(v.last_hidden_state, fixture_tensor(p.tensors, "vision_last_hidden_state"));
      const double d_merged = max_diff(v.merged, fixture_tensor(p.tensors, "vision_merged"));
      EXPECT_LE(d_patch, kVisionTolerance);
      EXPECT_LE(d_last, kVisionTolerance);
      EXPECT_LE(d_merged, kVisionTolerance);
      std::cout << "[golden] " << GetParam().model_dir << " " << name << " vision max|diff| patch "
                << d_patch << " last " << d_last << " merged " << d_merged << "\n";
      image_embeds = v.merged;
    }
    // Decoder: every layer's input and the normed output, then logits at the fixture positions.
    const auto n = static_cast<std::int64_t>(p.input.ids.size());
    const torch::Tensor ids =
        torch::tensor(std::vector<std::int64_t>(p.input.ids.begin(), p.input.ids.end()))
            .view({1, n});
    const torch::Tensor positions = fixture_tensor(p.tensors, "position_ids").view({3, 1, n});
    std::vector<torch::Tensor> hidden_states;
    const torch::Tensor hidden = model->language_model->forward(model->embed(ids, image_embeds),
                                                                positions, nullptr, &hidden_states);
    const torch::Tensor expected_hidden = fixture_tensor(p.tensors, "hidden_states");
    ASSERT_EQ(static_cast<int>(hidden_states.size()), layers + 1);
    for (int l = 0; l <= layers; ++l) {
      EXPECT_LE(max_diff(hidden_states[static_cast<std::size_t>(l)][0], expected_hidden[l]),
                kLogitTolerance)
          << "hidden state " << l;
    }
    const torch::Tensor at = fixture_tensor(p.tensors, "logits_positions");
    const torch::Tensor logits = model->logits(hidden[0].index_select(0, at));
    const double d_logits = max_diff(logits, fixture_tensor(p.tensors, "logits"));
    EXPECT_LE(d_logits, kLogitTolerance);
    // The whole forward pass from ids and pixels (positions computed by mrope.h).
    const torch::Tensor full = model->forward(p.input.ids, p.pixel_values, p.grids);
    EXPECT_LE(max_diff(full[0].index_select(0, at), fixture_tensor(p.tensors, "logits")),
              kLogitTolerance);
    // Greedy continuation with the KV cache: identical ids.
    const GenerationResult g = greedy(*model, p.input);
    EXPECT_EQ(g.ids, ids_of(fixture_tensor(p.tensors, "greedy_ids")));
    std::cout << "[golden] " << GetParam().model_dir << " " << name << " logits max|diff| "
              << d_logits << "\n";
  }

  // The same with the PEFT adapter (on q/k/v of every decoder layer).
  apply_peft_adapter(*model, "golden", testing::golden_dir() / GetParam().lora_dir);
  set_active_adapter(*model, "golden");
  for (const std::string& name : kPrompts) {
    SCOPED_TRACE(name + " with LoRA");
    const Prompt p = load_prompt(name);
    torch::NoGradGuard no_grad;
    const torch::Tensor at = fixture_tensor(p.tensors, "logits_positions");
    const torch::Tensor full = model->forward(p.input.ids, p.pixel_values, p.grids);
    const double d =
        max_diff(full[0].index_select(0, at), fixture_tensor(p.tensors, "lora_logits"));
    EXPECT_LE(d, kLogitTolerance);
    EXPECT_EQ(greedy(*model, p.input).ids, ids_of(fixture_tensor(p.tensors, "lora_greedy_ids")));
    std::cout << "[golden] " << GetParam().model_dir << "+" << GetParam().lora_dir << " " << name
              << " lora logits max|diff| " << d << "\n";
  }
  remove_adapter(*model, "golden");
}

// Both checkpoints with both adapters: each adapter's names are matched in either scheme.
INSTANTIATE_TEST_SUITE_P(
    BothNamingSchemes, ModelGolden,
    ::testing::Values(SchemeCase{"model", "lora"}, SchemeCase{"model_alt", "lora_alt"},
                      SchemeCase{"model", "lora_alt"}, SchemeCase{"model_alt", "lora"}),
    [](const auto& info) { return info.param.model_dir + "_" + info.param.lora_dir; });

TEST(ModelCache, IncrementalDecodingEqualsAFullForwardPass) {
  Qwen2VLModel& model = model_of("model");
  const Prompt p = load_prompt("two_images");
  const GenerationResult g = greedy(*model, p.input, 10);
  // The prompt plus the generated tokens in one pass: the logits of the last 10 positions must
  // pick the same tokens, and equal (within rounding) what the cache-based decode saw.
  std::vector<std::int32_t> all = p.input.ids;
  all.insert(all.end(), g.ids.begin(), g.ids.end() - 1);
  torch::NoGradGuard no_grad;
  const torch::Tensor full = model->forward(all, p.pixel_values, p.grids)[0];
  const auto n = static_cast<std::int64_t>(p.input.ids.size());
  const torch::Tensor chosen = full.narrow(0, n - 1, 10).argmax(-1);
  EXPECT_EQ(ids_of(chosen), g.ids);

  // Step by step through the cache, compared logit by logit.
  const MropePositions pos = mrope_positions(p.input.ids, model->config().image_token_id, p.grids,
                                             model->config().vision.spatial_merge_size);
  KvCache cache = model->language_model->make_cache(1, static_cast<std::int64_t>(all.size()));
  const torch::Tensor image_embeds = model->visual->forward(p.pixel_values, p.grids).merged;
  std::vector<std::int64_t> flat(pos.temporal);
  flat.insert(flat.end(), pos.height.begin(), pos.height.end());
  flat.insert(flat.end(), pos.width.begin(), pos.width.end());
  const torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(p.input.ids.begin(), p.input.ids.end())).view({1, n});
  torch::Tensor hidden = model->language_model->forward(
      model->embed(ids, image_embeds), torch::tensor(flat).view({3, 1, n}), &cache);
  double worst = max_diff(model->logits(hidden[0][n - 1]), full[n - 1]);
  for (std::size_t i = 0; i + 1 < g.ids.size(); ++i) {
    const std::int64_t index = n + static_cast<std::int64_t>(i);
    hidden = model->language_model->forward(
        model->embed(torch::full({1, 1}, static_cast<std::int64_t>(g.ids[i])), {}),
        torch::full({3, 1, 1}, index + pos.rope_delta), &cache);
    worst = std::max(worst, max_diff(model->logits(hidden[0][0]), full[index]));
  }
  EXPECT_EQ(cache.length, static_cast<std::int64_t>(all.size()));
  EXPECT_LE(worst, 1e-4);
}

TEST(ModelLora, MergedEqualsUnmergedAndUnmergeRestoresTheWeightsExactly) {
  Qwen2VLModel& model = model_of("model");
  apply_peft_adapter(*model, "m", testing::golden_dir() / "lora");
  set_active_adapter(*model, "m");
  const Prompt p = load_prompt("one_image");
  torch::NoGradGuard no_grad;
  const torch::Tensor before =
      model->language_model->layers[0]->as<DecoderLayerImpl>()->q_proj->weight.clone();
  const torch::Tensor unmerged = model->forward(p.input.ids, p.pixel_values, p.grids);
  merge_active_adapter(*model);
  EXPECT_TRUE(model->language_model->layers[0]->as<DecoderLayerImpl>()->q_proj->merged());
  const torch::Tensor merged = model->forward(p.input.ids, p.pixel_values, p.grids);
  EXPECT_LE(max_diff(merged, unmerged), 1e-4);
  unmerge_adapter(*model);
  EXPECT_TRUE(torch::equal(model->language_model->layers[0]->as<DecoderLayerImpl>()->q_proj->weight,
                           before));
  remove_adapter(*model, "m");
  // Without the adapter the output differs (the test above would pass for a no-op LoRA).
  const torch::Tensor base = model->forward(p.input.ids, p.pixel_values, p.grids);
  EXPECT_GT(max_diff(base, unmerged), 1e-2);
}

TEST(ModelLora, AdapterIsTrainableAndBaseIsFrozen) {
  Qwen2VLModel model = load_qwen2vl_model(testing::golden_dir() / "model", {});
  apply_peft_adapter(*model, "t", testing::golden_dir() / "lora", /*trainable=*/true);
  set_active_adapter(*model, "t");
  const Prompt p = load_prompt("text_only");
  const torch::Tensor logits = model->forward(p.input.ids, {}, {});
  logits.sum().backward();
  int with_grad = 0;
  for (const auto& item : model->named_parameters()) {
    const bool is_lora = item.key().find("lora_t_") != std::string::npos;
    EXPECT_EQ(item.value().requires_grad(), is_lora) << item.key();
    if (is_lora) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      if (item.value().grad().abs().sum().item<double>() > 0) ++with_grad;
    }
  }
  EXPECT_EQ(with_grad, 2 * 3 * model->config().text.num_hidden_layers);  // A, B of q, k, v
}

// ---- the engine facade ----

fs::path engine_weights() {
  return testing::golden_dir() / "model";
}

std::shared_ptr<LocalEngine> f32_engine() {
  static std::shared_ptr<LocalEngine> engine = [] {
    std::shared_ptr<LocalEngine> e = LocalEngine::load(engine_weights(), {"cpu", "f32", 0});
    e->load_adapter("a", testing::golden_dir() / "lora");
    e->load_adapter("b", testing::golden_dir() / "lora_alt");
    return e;
  }();
  return engine;
}

llm::Role role_of(const std::string& name) {
  if (name == "system") return llm::Role::kSystem;
  if (name == "assistant") return llm::Role::kAssistant;
  return llm::Role::kUser;
}

// The fixture's messages with their images read from disk, as mat's chat messages.
std::vector<llm::ChatMessage> messages_of(const core::Json& prompt) {
  std::vector<llm::ChatMessage> out;
  std::size_t image = 0;
  for (const core::Json& m : prompt["messages"]) {
    llm::ChatMessage message;
    message.role = role_of(m["role"].get<std::string>());
    if (m["content"].is_string()) {
      message.parts.push_back(llm::ContentPart::from_text(m["content"].get<std::string>()));
      out.push_back(std::move(message));
      continue;
    }
    for (const core::Json& part : m["content"]) {
      if (part["type"] == "image") {
        auto encoded = std::make_shared<core::EncodedImage>();
        encoded->source = testing::golden_dir() / prompt["images"][image++].get<std::string>();
        encoded->base64 = core::base64_encode(core::read_file(encoded->source));
        message.parts.push_back(llm::ContentPart::from_image(encoded));
      } else {
        message.parts.push_back(llm::ContentPart::from_text(part["text"].get<std::string>()));
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

TEST(LocalEngineGolden, FromChatMessagesToTheReferenceGreedyIds) {
  auto engine = f32_engine();
  const core::Json prompts = testing::golden_json("prompts/prompts.json");
  for (const core::Json& prompt : prompts) {
    SCOPED_TRACE(prompt["name"].get<std::string>());
    const PromptInput input = engine->prepare(messages_of(prompt));
    EXPECT_EQ(input.ids, prompt["input_ids"].get<std::vector<std::int32_t>>());
    SamplingParams params;
    params.max_tokens = 16;
    params.stop_token_ids = {-1};  // never: the fixtures run 16 tokens past any EOS
    EXPECT_EQ(engine->generate(input, params).ids,
              prompt["greedy_ids"].get<std::vector<std::int32_t>>());
  }
}

TEST(LocalEngineGolden, EachRequestGetsItsOwnAdapter) {
  auto engine = f32_engine();
  EXPECT_EQ(engine->adapters(), (std::vector<std::string>{"a", "b"}));
  const Prompt p = load_prompt("agent_multiturn");
  const auto base = ids_of(fixture_tensor(p.tensors, "greedy_ids"));
  const auto lora = ids_of(fixture_tensor(p.tensors, "lora_greedy_ids"));
  SamplingParams params;
  params.max_tokens = 16;
  params.stop_token_ids = {-1};
  for (const bool merge : {false, true}) {
    SCOPED_TRACE(merge ? "merged" : "unmerged");
    engine->set_merge_adapters(merge);
    EXPECT_EQ(engine->generate(p.input, params, "a").ids, lora);
    EXPECT_EQ(engine->generate(p.input, params, "").ids, base);
    EXPECT_EQ(engine->generate(p.input, params, "b").ids, lora);
    EXPECT_EQ(engine->generate(p.input, params).ids, base);
  }
  engine->set_merge_adapters(false);
  EXPECT_THROW(engine->generate(p.input, params, "nope"), core::Error);
}

TEST(LocalEngine, StopsAtStopTokensAndStringsAndStreamsEverything) {
  auto engine = f32_engine();
  const Prompt p = load_prompt("text_only");
  SamplingParams params;
  params.max_tokens = 16;
  params.stop_token_ids = {-1};
  const GenerationResult all = engine->generate(p.input, params);
  ASSERT_EQ(all.ids.size(), 16u);
  EXPECT_EQ(all.finish_reason, "length");

  // Stop at the 5th generated token.
  params.stop_token_ids = {all.ids[4]};
  GenerationResult r = engine->generate(p.input, params);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.ids, std::vector<std::int32_t>(all.ids.begin(), all.ids.begin() + 5));

  // A stop string in the middle of the text; streaming delivers exactly the final text.
  params.stop_token_ids = {-1};
  const std::string text = tokenizer().decode(all.ids);
  const std::string stop = text.substr(10, 4);
  params.stop = {stop};
  std::string streamed;
  r = engine->generate(p.input, params, "", [&](std::string_view piece) { streamed += piece; });
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, text.substr(0, text.find(stop)));
  EXPECT_EQ(streamed, r.text);
  EXPECT_LT(r.ids.size(), 16u);

  params.stop.clear();
  params.max_tokens = 3;
  r = engine->generate(p.input, params);
  EXPECT_EQ(r.ids.size(), 3u);
  EXPECT_EQ(r.finish_reason, "length");
}

TEST(LocalEngine, SeededSamplingIsReproducible) {
  auto engine = f32_engine();
  const Prompt p = load_prompt("one_image");
  SamplingParams params;
  params.max_tokens = 12;
  params.stop_token_ids = {-1};
  params.temperature = 1.5;
  params.top_k = 50;
  params.top_p = 0.95;
  params.repetition_penalty = 1.2;
  params.seed = 7;
  const auto a = engine->generate(p.input, params).ids;
  EXPECT_EQ(engine->generate(p.input, params).ids, a);
  params.seed = 8;
  EXPECT_NE(engine->generate(p.input, params).ids, a);
}

// Greedy decoding of exactly `tokens` tokens.
SamplingParams greedy_tokens(int tokens) {
  SamplingParams params;
  params.max_tokens = tokens;
  params.stop_token_ids = {-1};
  return params;
}

// Greedy ids for `prompt` computed from scratch: the generator without the engine's PromptCache.
std::vector<std::int32_t> uncached_ids(LocalEngine& engine, const PromptInput& prompt, int tokens) {
  GenerationRequest request;
  request.prompt = &prompt;
  request.params = greedy_tokens(tokens);
  return generate_batch(engine.model(), engine.tokenizer(), {request}).front().ids;
}

TEST(LocalEngine, APromptThatContinuesTheLastOneReusesItsKeysAndValues) {
  auto engine = f32_engine();
  const SamplingParams params = greedy_tokens(6);
  const Prompt p = load_prompt("agent_multiturn");
  const GenerationResult first = engine->generate(p.input, params);
  ASSERT_EQ(first.ids.size(), 6u);

  // The next turn: the reply and more text. The cache holds the prompt and the five generated
  // tokens that were fed back (the sixth never was).
  PromptInput next = p.input;
  next.ids.insert(next.ids.end(), first.ids.begin(), first.ids.end());
  next.ids.insert(next.ids.end(), p.input.ids.begin(), p.input.ids.begin() + 20);
  const GenerationResult second = engine->generate(next, params);
  EXPECT_EQ(second.cached_tokens, static_cast<std::int64_t>(p.input.ids.size()) + 5);
  EXPECT_EQ(second.prompt_tokens, static_cast<std::int64_t>(next.ids.size()));
  EXPECT_EQ(second.ids, uncached_ids(*engine, next, 6));

  // The same prompt again: all but its last token.
  EXPECT_EQ(engine->generate(next, params).cached_tokens,
            static_cast<std::int64_t>(next.ids.size()) - 1);
  // Another adapter: nothing.
  EXPECT_EQ(engine->generate(next, params, "a").cached_tokens, 0);
}

TEST(LocalEngine, AnImageThatDiffersEndsTheReusedPrefixAtItsStart) {
  auto engine = f32_engine();
  const SamplingParams params = greedy_tokens(4);
  const Prompt p = load_prompt("two_images");
  ASSERT_EQ(p.input.images.size(), 2u);
  engine->generate(p.input, params);

  PromptInput changed = p.input;
  for (float& v : changed.images[1].pixel_values) v = -v;
  // Where the second image's run of tokens starts.
  const std::int32_t image = engine->config().image_token_id;
  const auto first = std::find(changed.ids.begin(), changed.ids.end(), image);
  const auto after_first =
      std::find_if(first, changed.ids.end(), [&](auto id) { return id != image; });
  const auto second = std::find(after_first, changed.ids.end(), image);
  ASSERT_NE(second, changed.ids.end());
  const GenerationResult result = engine->generate(changed, params);
  EXPECT_EQ(result.cached_tokens, second - changed.ids.begin());
  EXPECT_EQ(result.ids, uncached_ids(*engine, changed, 4));

  // The same images again: the whole prompt but its last token.
  EXPECT_EQ(engine->generate(changed, params).cached_tokens,
            static_cast<std::int64_t>(changed.ids.size()) - 1);
}

TEST(LocalEngine, ABatchEqualsItsSequencesAlone) {
  // Prompts of different lengths (left padding in the cache), images or not, greedy and sampled,
  // different lengths and stops: each row of the batch must generate what it generates alone.
  auto engine = f32_engine();
  std::vector<Prompt> prompts;
  for (const char* name : {"text_only", "two_images", "agent_multiturn", "one_image"}) {
    prompts.push_back(load_prompt(name));
  }
  std::vector<GenerationRequest> requests;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest r;
    r.prompt = &prompts[i].input;
    r.params.max_tokens = 6 + 3 * static_cast<int>(i);
    r.params.stop_token_ids = {-1};
    if (i == 1) {
      r.params.temperature = 1.3;
      r.params.top_k = 40;
      r.params.seed = 11;
    }
    requests.push_back(r);
  }
  std::vector<GenerationResult> alone;
  for (const GenerationRequest& r : requests)
    alone.push_back(engine->generate(*r.prompt, r.params));
  // A stop token that ends the first row early while the others go on.
  requests[0].params.stop_token_ids = {alone[0].ids[2]};
  std::vector<std::string> streamed(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].on_text = [&streamed, i](std::string_view piece) { streamed[i] += piece; };
  }
  const std::vector<GenerationResult> batch_base = engine->generate_batch(requests);
  ASSERT_EQ(batch_base.size(), requests.size());
  EXPECT_EQ(batch_base[0].ids,
            std::vector<std::int32_t>(alone[0].ids.begin(), alone[0].ids.begin() + 3));
  EXPECT_EQ(batch_base[0].finish_reason, "stop");
  for (std::size_t i = 1; i < requests.size(); ++i) {
    SCOPED_TRACE(prompts[i].name);
    EXPECT_EQ(batch_base[i].ids, alone[i].ids);
    EXPECT_EQ(batch_base[i].finish_reason, "length");
    EXPECT_EQ(batch_base[i].prompt_tokens, static_cast<std::int64_t>(prompts[i].input.ids.size()));
    EXPECT_EQ(streamed[i], batch_base[i].text);
  }
  // The adapter applies to every row of its batch.
  const std::vector<GenerationResult> batch = engine->generate_batch(requests, "a");
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(batch[i].ids, engine->generate(*requests[i].prompt, requests[i].params, "a").ids);
  }
}

TEST(LocalEngine, ACancelledRowEndsAloneInItsBatch) {
  auto engine = f32_engine();
  const Prompt a = load_prompt("text_only");
  const Prompt b = load_prompt("text_system");
  SamplingParams params;
  params.max_tokens = 8;
  params.stop_token_ids = {-1};
  int polls = 0;
  std::vector<GenerationRequest> requests = {
      {&a.input, params, {}, [&polls] { return ++polls > 2; }}, {&b.input, params, {}, {}}};
  const std::vector<GenerationResult> r = engine->generate_batch(requests);
  EXPECT_EQ(r[0].finish_reason, "cancelled");
  EXPECT_EQ(r[0].ids.size(), 2u);
  EXPECT_EQ(r[1].ids, engine->generate(b.input, params).ids);
  EXPECT_TRUE(engine->generate_batch({}).empty());
}

TEST(LocalEngine, ChatModelAnswersAndReportsUsage) {
  LocalChatModel chat(f32_engine(), "a");
  EXPECT_EQ(chat.identity().backend, "local");
  EXPECT_EQ(chat.identity().adapter, std::optional<std::string>("a"));
  llm::GenerationParams params;
  params.max_tokens = 5;
  std::string streamed;
  const llm::ChatResult r =
      chat.chat({llm::ChatMessage::text(llm::Role::kUser, "Hello! What is 2+2?")}, params,
                [&](std::string_view piece) { streamed += piece; });
  EXPECT_EQ(r.usage.prompt_tokens, 58);  // the text_only fixture prompt
  EXPECT_GE(r.usage.completion_tokens, 1);
  EXPECT_LE(r.usage.completion_tokens, 5);
  EXPECT_EQ(streamed, r.text);
  params.deadline = std::chrono::steady_clock::now();
  EXPECT_THROW(chat.chat({llm::ChatMessage::text(llm::Role::kUser, "hi")}, params),
               llm::ModelError);
}

TEST(LocalEngine, Bf16StaysCloseToTheFloat32Reference) {
  Qwen2VLModel& model = model_of("model", torch::kBFloat16);
  const Prompt p = load_prompt("two_images");
  torch::NoGradGuard no_grad;
  const torch::Tensor at = fixture_tensor(p.tensors, "logits_positions");
  const torch::Tensor logits = model->forward(p.input.ids, p.pixel_values, p.grids)[0];
  const torch::Tensor expected = fixture_tensor(p.tensors, "logits");
  const double d = max_diff(logits.index_select(0, at), expected);
  const double scale = expected.abs().max().item<double>();
  std::cout << "[golden] bf16 two_images logits max|diff| " << d << " (max |logit| " << scale
            << ")\n";
  EXPECT_LE(d, 0.05 * scale);
}

// ---- sampling and streaming, no model ----

TEST(Sampler, GreedyTopKOneAndSeeds) {
  std::vector<float> logits = {0.1f, 2.0f, 1.9f, -1.0f};
  SamplingParams greedy_params;
  auto l = logits;
  EXPECT_EQ(Sampler(greedy_params).next(l, {}), 1);
  SamplingParams p;
  p.temperature = 1.0;
  p.top_k = 1;
  p.seed = 3;
  l = logits;
  EXPECT_EQ(Sampler(p).next(l, {}), 1);
  // Repetition penalty turns the choice to the unseen token.
  SamplingParams rp;
  rp.repetition_penalty = 2.0;
  l = logits;
  const std::vector<std::int32_t> seen = {1};
  EXPECT_EQ(Sampler(rp).next(l, seen), 2);
  // top_p keeps the smallest set reaching the mass: here only the dominant token.
  SamplingParams tp;
  tp.temperature = 1.0;
  tp.top_p = 0.5;
  tp.seed = 1;
  Sampler s(tp);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> x = {10.0f, 0.0f, 0.0f};
    EXPECT_EQ(s.next(x, {}), 0);
  }
}

TEST(StopStreamer, HoldsBackPossibleStopsAndIncompleteCharacters) {
  StopStreamer s({"</code>"});
  EXPECT_EQ(s.update("abc"), "abc");
  EXPECT_EQ(s.update("abc</co"), "");  // could become the stop string
  EXPECT_EQ(s.update("abc</cx"), "</cx");
  EXPECT_EQ(s.update("abc</cx\xEF\xBF\xBD"), "");  // an incomplete UTF-8 character
  EXPECT_EQ(s.update("abc</cx\xC3\xA9 </code> tail"), "\xC3\xA9 ");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.text(), "abc</cx\xC3\xA9 ");
  StopStreamer f({});
  f.update("x\xEF\xBF\xBD");
  EXPECT_EQ(f.finish("x\xEF\xBF\xBD"), "\xEF\xBF\xBD");
}

// ---- bad input: each error names the file and the tensor ----

std::string load_error(const fs::path& dir) {
  try {
    load_qwen2vl_model(dir, {});
  } catch (const core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A copy of the fixture model whose safetensors file is rewritten by `edit`.
class BadCheckpoint : public ::testing::Test {
 protected:
  core::TempDir dir_{"mat-model-test"};
  SafetensorsFile source_ =
      SafetensorsFile::open(testing::golden_dir() / "model/model.safetensors");

  void SetUp() override {
    for (const char* f : {"config.json", "tokenizer.json"}) {
      fs::copy_file(testing::golden_dir() / "model" / f, dir_.path() / f);
    }
  }
  std::vector<TensorRef> refs() const {
    std::vector<TensorRef> out;
    for (const TensorInfo& t : source_.tensors()) {
      out.push_back({t.name, t.dtype, t.shape, source_.bytes(t)});
    }
    return out;
  }
};

TEST_F(BadCheckpoint, WrongShape) {
  auto tensors = refs();
  for (TensorRef& t : tensors) {
    if (t.name == "model.layers.1.self_attn.k_proj.weight") {  // [32, 64] -> [64, 32]
      t.shape = {64, 32};
    }
  }
  write_safetensors(dir_.path() / "model.safetensors", tensors);
  const std::string e = load_error(dir_.path());
  EXPECT_THAT(e, HasSubstr((dir_.path() / "model.safetensors").string()));
  EXPECT_THAT(e, HasSubstr("'model.layers.1.self_attn.k_proj.weight' has shape [64, 32], "
                           "expected [32, 64]"));
}

TEST_F(BadCheckpoint, WrongDtype) {
  auto tensors = refs();
  for (TensorRef& t : tensors) {
    if (t.name == "model.norm.weight") t.dtype = DType::kI32;  // same byte size as F32
  }
  write_safetensors(dir_.path() / "model.safetensors", tensors);
  const std::string e = load_error(dir_.path());
  EXPECT_THAT(e, HasSubstr((dir_.path() / "model.safetensors").string()));
  EXPECT_THAT(e, HasSubstr("'model.norm.weight' has dtype I32"));
}

TEST_F(BadCheckpoint, MissingTensor) {
  auto tensors = refs();
  std::erase_if(tensors, [](const TensorRef& t) { return t.name == "visual.merger.ln_q.bias"; });
  write_safetensors(dir_.path() / "model.safetensors", tensors);
  EXPECT_THAT(load_error(dir_.path()), HasSubstr("'visual.merger.ln_q.bias' is missing"));
}

TEST_F(BadCheckpoint, MissingShard) {
  auto tensors = refs();
  std::vector<TensorRef> first(tensors.begin(), tensors.begin() + 10);
  write_safetensors(dir_.path() / "model-00001-of-00002.safetensors", first);
  core::Json map = core::Json::object();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    map[tensors[i].name] =
        i < 10 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  std::ofstream(dir_.path() / "model.safetensors.index.json")
      << core::Json{{"metadata", core::Json::object()}, {"weight_map", map}}.dump();
  const std::string e = load_error(dir_.path());
  EXPECT_THAT(e, HasSubstr((dir_.path() / "model-00002-of-00002.safetensors").string()));
  EXPECT_THAT(e, HasSubstr("shard missing"));
  EXPECT_THAT(e, HasSubstr("'" + tensors[10].name + "'"));
}

TEST_F(BadCheckpoint, ShardedCheckpointLoads) {
  auto tensors = refs();
  const std::size_t half = tensors.size() / 2;
  write_safetensors(dir_.path() / "a.safetensors",
                    std::vector<TensorRef>(tensors.begin(), tensors.begin() + half));
  write_safetensors(dir_.path() / "b.safetensors",
                    std::vector<TensorRef>(tensors.begin() + half, tensors.end()));
  core::Json map = core::Json::object();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    map[tensors[i].name] = i < half ? "a.safetensors" : "b.safetensors";
  }
  std::ofstream(dir_.path() / "model.safetensors.index.json")
      << core::Json{{"weight_map", map}}.dump();
  Qwen2VLModel sharded = load_qwen2vl_model(dir_.path(), {});
  const Prompt p = load_prompt("text_only");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(sharded->forward(p.input.ids, {}, {}),
                           model_of("model")->forward(p.input.ids, {}, {})));
}

TEST(BadAdapter, AdapterOfAnotherBaseModelNamesFileAndTensor) {
  core::TempDir dir("mat-lora-test");
  fs::copy_file(testing::golden_dir() / "lora/adapter_config.json",
                dir.path() / "adapter_config.json");
  std::vector<float> a(4 * 48, 0.1f), b(32 * 4, 0.1f);
  const std::string name = "base_model.model.model.language_model.layers.0.self_attn.k_proj";
  write_safetensors(
      dir.path() / "adapter_model.safetensors",
      {{name + ".lora_A.weight", DType::kF32, {4, 48}, std::as_bytes(std::span<const float>(a))},
       {name + ".lora_B.weight", DType::kF32, {32, 4}, std::as_bytes(std::span<const float>(b))}});
  Qwen2VLModel& model = model_of("model");
  try {
    apply_peft_adapter(*model, "x", dir.path());
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir.path() / "adapter_model.safetensors").string()));
    EXPECT_THAT(e.what(), HasSubstr("'" + name + ".lora_A.weight' has shape [4, 48]"));
    EXPECT_THAT(e.what(), HasSubstr("another base model"));
  }
  // Nothing was applied.
  for (auto& [_, layer] : model->linear_layers()) EXPECT_FALSE(layer->has_adapter("x"));

  // A module the model does not have.
  const std::string other = "base_model.model.model.layers.0.self_attn.qkv_fused";
  write_safetensors(
      dir.path() / "adapter_model.safetensors",
      {{other + ".lora_A.weight", DType::kF32, {4, 48}, std::as_bytes(std::span<const float>(a))},
       {other + ".lora_B.weight", DType::kF32, {32, 4}, std::as_bytes(std::span<const float>(b))}});
  EXPECT_THROW(
      {
        try {
          apply_peft_adapter(*model, "x", dir.path());
        } catch (const core::Error& e) {
          EXPECT_THAT(e.what(), HasSubstr(other + ".lora_A.weight"));
          throw;
        }
      },
      core::Error);
}

TEST(BadAdapter, MissingFilesAndUnsupportedKinds) {
  core::TempDir dir("mat-lora-test");
  EXPECT_THAT(
      [&] {
        try {
          load_peft_adapter(dir.path());
        } catch (const core::Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("adapter_config.json"));
  std::ofstream(dir.path() / "adapter_config.json") << R"({"peft_type": "LORA", "use_dora": true})";
  EXPECT_THROW(load_peft_adapter(dir.path()), core::Error);
}

}  // namespace
}  // namespace mat::engine

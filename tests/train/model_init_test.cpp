// `mat model init`: the checkpoint it writes loads in mat's engine (and generates), gives finite
// logits over the rounded-up vocabulary, is a function of the seed, and a bad tokenizer is a clear
// error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mat/core/error.h"
#include "mat/engine/local_engine.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"
#include "train/controller_fixture.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using testing::tiny_model_options;
using testing::TinyController;

TEST(ModelInit, LoadsInTheEngineWithFiniteLogitsOverTheVocabulary) {
  const TinyController c;
  for (const char* file :
       {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "generation_config.json", "preprocessor_config.json"}) {
    EXPECT_TRUE(fs::exists(c.model / file)) << file;
  }
  auto engine = engine::LocalEngine::load(c.model, {.dtype = "f32"});
  // The tokenizer's ids rounded up to a multiple of 64 (the small corpus stops the merges early).
  const auto tokens = static_cast<int>(engine->tokenizer().vocab_size());
  const int vocab = engine->config().text.vocab_size;
  EXPECT_EQ(vocab % 64, 0);
  EXPECT_GE(vocab, tokens);
  EXPECT_LT(vocab, tokens + 64);
  EXPECT_TRUE(engine->config().text.tie_word_embeddings);
  const std::vector<std::int32_t> ids = engine->tokenizer().encode("def get_total(rows):");
  const torch::Tensor logits = engine->model().forward(ids, torch::Tensor(), {});
  EXPECT_EQ(logits.size(-1), vocab);
  EXPECT_EQ(logits.size(1), static_cast<std::int64_t>(ids.size()));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  EXPECT_GT(logits.std().item<double>(), 0.0);

  engine::SamplingParams params;
  params.max_tokens = 4;
  const engine::GenerationResult r =
      engine->generate(engine->prepare({llm::ChatMessage::text(llm::Role::kUser, "hi")}), params);
  EXPECT_GE(r.ids.size(), 1u);
}

TEST(ModelInit, InitialisesLikeTransformers) {
  const TinyController c;
  const auto weights = engine::SafetensorsFile::open(c.model / "model.safetensors");
  const torch::Tensor embed =
      torch::tensor(weights.to_f32("model.language_model.embed_tokens.weight"), torch::kFloat32);
  EXPECT_NEAR(embed.std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(embed.mean().item<double>(), 0.0, 0.002);
  for (float v : weights.to_f32("model.language_model.norm.weight")) ASSERT_EQ(v, 1.0f);
  for (float v : weights.to_f32("model.language_model.layers.0.self_attn.q_proj.bias"))
    ASSERT_EQ(v, 0.0f);
  EXPECT_EQ(weights.find("lm_head.weight"), nullptr);  // tied
}

TEST(ModelInit, TheSeedDecidesTheWeights) {
  const TinyController c;
  const auto first = engine::SafetensorsFile::open(c.model / "model.safetensors");
  ModelInitOptions o = tiny_model_options();
  write_initial_model(c.tokenizer, c.dir.path() / "same", o);
  o.seed += 1;
  write_initial_model(c.tokenizer, c.dir.path() / "other", o);
  const auto same = engine::SafetensorsFile::open(c.dir.path() / "same" / "model.safetensors");
  const auto other = engine::SafetensorsFile::open(c.dir.path() / "other" / "model.safetensors");
  const std::string name = "model.language_model.layers.1.mlp.up_proj.weight";
  EXPECT_EQ(first.to_f32(name), same.to_f32(name));
  EXPECT_NE(first.to_f32(name), other.to_f32(name));
}

TEST(ModelInit, ABadTokenizerIsAClearError) {
  const TinyController c;
  try {
    write_initial_model(c.dir.path() / "missing.json", c.dir.path() / "m1", tiny_model_options());
    FAIL() << "a missing tokenizer was accepted";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
  // A tokenizer without Qwen2-VL's vision tokens.
  core::Json json = core::read_json_file(c.tokenizer);
  core::Json kept = core::Json::array();
  for (const core::Json& t : json["added_tokens"]) {
    if (t["content"] != "<|image_pad|>") kept.push_back(t);
  }
  json["added_tokens"] = kept;
  core::write_json_file(c.dir.path() / "no_image_pad.json", json);
  try {
    write_initial_model(c.dir.path() / "no_image_pad.json", c.dir.path() / "m2",
                        tiny_model_options());
    FAIL() << "a tokenizer without <|image_pad|> was accepted";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("<|image_pad|>"), std::string::npos) << e.what();
  }
  ModelInitOptions odd = tiny_model_options();
  odd.heads = 3;
  EXPECT_THROW(write_initial_model(c.tokenizer, c.dir.path() / "m3", odd), core::Error);
}

}  // namespace
}  // namespace mat::train

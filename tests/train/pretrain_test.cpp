// `mat pretrain` on a tiny controller: the loss goes down, the same seed gives the same losses,
// the written checkpoint reloads with the trainer's last weights, and the vision tower is left
// as it was.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mat/core/error.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"
#include "mat/engine/tokenizer.h"
#include "mat/train/causal_lm_loss.h"
#include "mat/train/pretrainer.h"
#include "train/controller_fixture.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using testing::TinyController;

PretrainOptions tiny_run(const TinyController& c, const std::string& out) {
  PretrainOptions o;
  o.model = c.model;
  o.out = c.dir.path() / out;
  o.corpus = {c.corpus};
  o.steps = 8;
  o.seq_len = 32;
  o.batch = 4;
  o.lr = 3e-3;
  o.warmup = 0.1;
  o.seed = 11;
  return o;
}

TEST(Pretrain, LowersTheLossDeterministically) {
  const TinyController c;
  const PretrainResult first = pretrain(tiny_run(c, "a"));
  ASSERT_EQ(first.log.size(), 8u);
  EXPECT_LT(first.probe_loss_after, first.probe_loss_before - 0.5);
  EXPECT_LT(first.log.back().loss, first.log.front().loss);
  EXPECT_EQ(first.tokens_seen, 8 * 4 * 32);

  const PretrainResult second = pretrain(tiny_run(c, "b"));
  ASSERT_EQ(second.log.size(), first.log.size());
  for (std::size_t i = 0; i < first.log.size(); ++i) {
    EXPECT_EQ(first.log[i].loss, second.log[i].loss) << "step " << i + 1;
  }
  PretrainOptions other_seed = tiny_run(c, "c");
  other_seed.seed = 12;
  EXPECT_NE(pretrain(other_seed).log.back().loss, first.log.back().loss);
}

TEST(Pretrain, TheWrittenCheckpointHoldsTheTrainedWeights) {
  const TinyController c;
  const PretrainOptions o = tiny_run(c, "out");
  const PretrainResult r = pretrain(o);
  for (const char* file : {"config.json", "tokenizer.json", "model.safetensors", "train_log.jsonl",
                           "loss.svg", "pretrain_config.json"}) {
    EXPECT_TRUE(fs::exists(o.out / file)) << file;
  }
  EXPECT_EQ(read_train_log(o.out / "train_log.jsonl").size(), r.log.size());

  // The probe: the corpus's first `batch` windows (one file, then <|endoftext|>).
  const auto tokenizer = engine::Tokenizer::load(o.out / "tokenizer.json");
  std::vector<std::int32_t> ids = tokenizer.encode(core::read_file(c.corpus));
  ids.resize(static_cast<std::size_t>(o.batch * o.seq_len));
  const torch::Tensor probe =
      torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).view({o.batch, o.seq_len});
  torch::NoGradGuard no_grad;
  engine::Qwen2VLModel reloaded = engine::load_qwen2vl_model(o.out, {torch::kFloat32, torch::kCPU});
  EXPECT_NEAR(causal_lm_loss(*reloaded, probe).item<double>(), r.probe_loss_after, 1e-5);
  engine::Qwen2VLModel initial =
      engine::load_qwen2vl_model(o.model, {torch::kFloat32, torch::kCPU});
  EXPECT_NEAR(causal_lm_loss(*initial, probe).item<double>(), r.probe_loss_before, 1e-5);
}

TEST(Pretrain, LeavesTheVisionTowerAsItWas) {
  const TinyController c;
  const PretrainOptions o = tiny_run(c, "out");
  pretrain(o);
  const auto before = engine::SafetensorsFile::open(o.model / "model.safetensors");
  const auto after = engine::SafetensorsFile::open(o.out / "model.safetensors");
  std::size_t vision = 0;
  for (const engine::TensorInfo& t : before.tensors()) {
    if (t.name.rfind("model.visual.", 0) == 0) {
      EXPECT_EQ(before.to_f32(t.name), after.to_f32(t.name)) << t.name;
      ++vision;
    }
  }
  EXPECT_GT(vision, 5u);
  const std::string trained = "model.language_model.layers.0.mlp.down_proj.weight";
  EXPECT_NE(before.to_f32(trained), after.to_f32(trained));
}

TEST(Pretrain, RefusesACorpusShorterThanAWindow) {
  const TinyController c;
  PretrainOptions o = tiny_run(c, "out");
  o.seq_len = 1 << 20;
  EXPECT_THROW(pretrain(o), core::Error);
  o = tiny_run(c, "out");
  o.steps = 0;
  EXPECT_THROW(pretrain(o), core::Error);
}

}  // namespace
}  // namespace mat::train

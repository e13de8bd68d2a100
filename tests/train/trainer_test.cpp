// The LoRA trainer on the tiny fixture model (float32, so that equalities are exact where the
// computation is the same): the schedule, a few samples learned deterministically, only the
// adapters trained, exact resume, the exported adapter through the engine's PEFT loader, and the
// merged checkpoint.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <random>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/train/adamw.h"
#include "mat/train/lora_setup.h"
#include "mat/train/lora_trainer.h"
#include "mat/train/lr_schedule.h"
#include "mat/train/merge.h"
#include "mat/train/sample_loss.h"
#include "mat/train/tensor_file.h"
#include "train/train_fixture.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using testing::fixture_model;
using testing::fixture_model_dir;
using testing::golden_sample;

// Random text ids (below the special tokens) whose second half is the target.
Sample text_sample(const std::string& id, unsigned seed, int length) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> token(0, 479);
  Sample s;
  s.id = id;
  for (int i = 0; i < length; ++i) {
    s.ids.push_back(token(rng));
    s.is_target.push_back(i >= length / 2 ? 1 : 0);
  }
  return s;
}

std::vector<Sample> few_samples() {
  return {text_sample("a", 1, 24), text_sample("b", 2, 32), text_sample("c", 3, 20)};
}

TrainOptions tiny_options(const fs::path& out) {
  TrainOptions o;
  o.base = fixture_model_dir();
  o.out = out;
  o.lora = {
      .rank = 4, .alpha = 8, .dropout = 0.0, .targets = {"q_proj", "k_proj", "v_proj", "o_proj"}};
  o.lr = 2e-2;
  o.epochs = 10;
  o.batch = 1;
  o.grad_accum = 1;
  o.warmup = 0.1;
  o.weight_decay = 0.0;
  o.dtype = "f32";
  return o;
}

std::vector<double> losses(const TrainResult& r) {
  std::vector<double> out;
  for (const StepRecord& s : r.log) out.push_back(s.loss);
  return out;
}

TEST(LrSchedule, WarmsUpLinearlyThenDecaysAsACosine) {
  const LrSchedule s{1.0, 4, 12};
  EXPECT_DOUBLE_EQ(s.at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.at(2), 0.5);
  EXPECT_DOUBLE_EQ(s.at(4), 1.0);
  EXPECT_NEAR(s.at(8), 0.5, 1e-12);
  EXPECT_NEAR(s.at(12), 0.0, 1e-12);
}

TEST(LoraTrainer, LearnsAFewSamplesDeterministically) {
  const core::TempDir a, b;
  const std::vector<Sample> data = few_samples();
  const TrainResult first = train_lora(tiny_options(a.path()), data);
  ASSERT_TRUE(first.finished);
  ASSERT_EQ(first.total_steps, 30);
  ASSERT_EQ(first.log.size(), 30u);
  // The first epoch's mean against the last one's: the samples are learned.
  const auto l = losses(first);
  const double start = (l[0] + l[1] + l[2]) / 3, end = (l[27] + l[28] + l[29]) / 3;
  EXPECT_LT(end, 0.5 * start) << "start " << start << ", end " << end;
  const TrainResult second = train_lora(tiny_options(b.path()), data);
  EXPECT_EQ(losses(first), losses(second));
  for (const char* file : {"adapter_config.json", "adapter_model.safetensors", "train_log.jsonl",
                           "loss.svg", "train_config.json", "checkpoint/checkpoint.json"}) {
    EXPECT_TRUE(fs::exists(a.path() / file)) << file;
  }
  EXPECT_EQ(read_train_log(a.path() / "train_log.jsonl").size(), 30u);
}

TEST(LoraTrainer, OnlyTheAdaptersGetGradientsAndTheBaseStaysBitIdentical) {
  engine::Qwen2VLModel model = fixture_model();
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().clone();
  const std::vector<LoraModule> modules =
      attach_lora(*model, {.rank = 4, .alpha = 8, .dropout = 0.1});
  ASSERT_EQ(modules.size(), 6u);  // q, k, v of two layers
  AdamW optimizer(peft_tensors(modules), {0.9, 0.95, 1e-8, 0.1});
  model->train();
  for (int step = 0; step < 2; ++step) {
    sample_loss(*model, golden_sample()).sum.backward();
    for (const auto& p : model->named_parameters()) {
      const bool is_lora = p.key().find(".lora_") != std::string::npos;
      EXPECT_EQ(p.value().grad().defined(), is_lora) << p.key();
    }
    optimizer.step(1e-2);
    optimizer.zero_grad();
  }
  for (const auto& p : model->named_parameters()) {
    if (p.key().find(".lora_") != std::string::npos) continue;
    EXPECT_TRUE(torch::equal(p.value(), before.at(p.key()))) << p.key();
  }
  EXPECT_GT(modules[0].b.abs().max().item<double>(), 0.0);  // B left zero: nothing was trained
}

TEST(LoraTrainer, ResumeContinuesExactlyAsTheUninterruptedRun) {
  const core::TempDir whole, parts;
  const std::vector<Sample> data = few_samples();
  TrainOptions options = tiny_options(whole.path());
  options.epochs = 2;
  options.lora.dropout = 0.2;  // the generator's state must be restored too
  const TrainResult uninterrupted = train_lora(options, data);
  ASSERT_TRUE(uninterrupted.finished);

  options.out = parts.path();
  options.max_steps = 4;
  const TrainResult stopped = train_lora(options, data);
  ASSERT_FALSE(stopped.finished);
  ASSERT_EQ(stopped.log.size(), 4u);
  options.max_steps = 0;
  options.resume = true;
  const TrainResult resumed = train_lora(options, data);
  ASSERT_TRUE(resumed.finished);
  EXPECT_EQ(losses(resumed), losses(uninterrupted));
  EXPECT_EQ(read_train_log(parts.path() / "train_log.jsonl").size(), uninterrupted.log.size());

  options.lora.rank = 8;  // another configuration cannot resume this checkpoint
  EXPECT_THROW(train_lora(options, data), core::Error);
}

// Logits of the golden sample through a model.
torch::Tensor sample_logits(engine::Qwen2VLModelImpl& model) {
  torch::NoGradGuard no_grad;
  const Sample s = golden_sample();
  const engine::ProcessedImage& im = s.images[0];
  const torch::Tensor pixels = torch::from_blob(const_cast<float*>(im.pixel_values.data()),
                                                {im.num_patches(), im.patch_dim});
  return model.forward(s.ids, pixels, {{im.grid_t, im.grid_h, im.grid_w}});
}

TEST(LoraTrainer, TheAdapterLoadsBackAndTheMergedModelGivesItsLogits) {
  const core::TempDir out, merged;
  TrainOptions options = tiny_options(out.path());
  options.epochs = 2;
  const Sample eval = golden_sample();
  const TrainResult result = train_lora(options, few_samples(), {eval});
  ASSERT_TRUE(result.finished);
  ASSERT_TRUE(result.log.back().eval_loss.has_value());

  // The engine's PEFT loader reads what the trainer wrote: the same loss as the trainer's last
  // evaluation with its own adapter.
  engine::Qwen2VLModel model = fixture_model();
  engine::apply_peft_adapter(*model, "trained", out.path());
  engine::set_active_adapter(*model, "trained");
  model->eval();
  torch::NoGradGuard no_grad;
  const LossSum loss = sample_loss(*model, eval);
  EXPECT_NEAR(loss.sum.item<double>() / static_cast<double>(loss.tokens),
              *result.log.back().eval_loss, 1e-6);

  // For tools/golden/check_mat_adapter.py (PEFT loads this adapter and compares the logits):
  // MAT_TRAIN_EXPORT=DIR keeps the adapter and mat's logits there.
  if (const char* keep = std::getenv("MAT_TRAIN_EXPORT")) {
    fs::create_directories(keep);
    for (const char* file : {"adapter_config.json", "adapter_model.safetensors"}) {
      fs::copy_file(out.path() / file, fs::path(keep) / file, fs::copy_options::overwrite_existing);
    }
    write_tensor_file(fs::path(keep) / "logits.safetensors",
                      {{"logits", sample_logits(*model)[0]}});
  }

  write_merged_model(fixture_model_dir(), out.path(), merged.path());
  engine::Qwen2VLModel merged_model = engine::load_qwen2vl_model(merged.path(), {});
  const torch::Tensor unmerged_logits = sample_logits(*model);
  EXPECT_LT((sample_logits(*merged_model) - unmerged_logits).abs().max().item<double>(), 1e-4);
  engine::set_active_adapter(*model, "");
  EXPECT_GT((sample_logits(*model) - unmerged_logits).abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(fs::exists(merged.path() / "tokenizer.json"));
}

}  // namespace
}  // namespace mat::train

// The trainer on the tiny fixture model (float32, so that equalities are exact where the
// computation is the same): the schedule, a few samples learned deterministically, only the
// adapters trained, exact resume, the exported adapter through the engine's PEFT loader, the
// merged checkpoint, and full-parameter fine-tuning.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/train/adamw.h"
#include "mat/train/language_model_weights.h"
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
  const TrainResult first = fine_tune(tiny_options(a.path()), data);
  ASSERT_TRUE(first.finished);
  ASSERT_EQ(first.total_steps, 30);
  ASSERT_EQ(first.log.size(), 30u);
  // The first epoch's mean against the last one's: the samples are learned.
  const auto l = losses(first);
  const double start = (l[0] + l[1] + l[2]) / 3, end = (l[27] + l[28] + l[29]) / 3;
  EXPECT_LT(end, 0.5 * start) << "start " << start << ", end " << end;
  const TrainResult second = fine_tune(tiny_options(b.path()), data);
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
  const TrainResult uninterrupted = fine_tune(options, data);
  ASSERT_TRUE(uninterrupted.finished);

  options.out = parts.path();
  options.max_steps = 4;
  const TrainResult stopped = fine_tune(options, data);
  ASSERT_FALSE(stopped.finished);
  ASSERT_EQ(stopped.log.size(), 4u);
  options.max_steps = 0;
  options.resume = true;
  const TrainResult resumed = fine_tune(options, data);
  ASSERT_TRUE(resumed.finished);
  EXPECT_EQ(losses(resumed), losses(uninterrupted));
  EXPECT_EQ(read_train_log(parts.path() / "train_log.jsonl").size(), uninterrupted.log.size());

  options.lora.rank = 8;  // another configuration cannot resume this checkpoint
  EXPECT_THROW(fine_tune(options, data), core::Error);
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
  const TrainResult result = fine_tune(options, few_samples(), {eval});
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

// --share-prefix: samples that begin alike run as one sequence holding their beginning once, with
// the loss and gradients of running them one by one. Two variants of the golden sample (an image
// after a text prefix) and a text-only sample that shares part of that prefix.
TEST(SharedPrefixLoss, EqualsTheSumOfTheSamplesLossesAndGradients) {
  engine::Qwen2VLModel model = fixture_model();
  const std::map<std::string, torch::Tensor> params = train_language_model_weights(*model);
  const Sample golden = golden_sample();
  Sample other = golden;
  other.id = "other";
  for (std::size_t i = 0; i < other.ids.size(); ++i) {
    if (other.is_target[i] != 0) other.ids[i] = static_cast<std::int32_t>((other.ids[i] + 7) % 480);
  }
  std::size_t text_prefix = 0;  // the golden sample's text before its image
  while (golden.ids[text_prefix] != model->config().vision_start_token_id) ++text_prefix;
  ASSERT_GT(text_prefix, 4u);
  Sample text = text_sample("text", 9, 30);
  text.ids.insert(text.ids.begin(), golden.ids.begin(),
                  golden.ids.begin() + static_cast<std::ptrdiff_t>(text_prefix - 2));
  text.is_target.insert(text.is_target.begin(), text_prefix - 2, 0);
  const std::vector<const Sample*> samples{&golden, &other, &text};
  EXPECT_EQ(shared_prefix_length(samples, model->config()), text_prefix - 2);
  EXPECT_EQ(shared_prefix_length({&golden, &other}, model->config()), text_prefix);

  const auto gradients = [&] {
    std::map<std::string, torch::Tensor> out;
    for (const auto& [name, p] : params) {
      out[name] = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    return out;
  };
  double one_by_one = 0;
  std::int64_t tokens = 0;
  for (const Sample* s : samples) {
    const LossSum l = sample_loss(*model, *s);
    l.sum.backward();
    one_by_one += l.sum.item<double>();
    tokens += l.tokens;
  }
  const auto expected = gradients();
  // Attention part by part, and (with checkpointed layers) through one mask over the whole.
  for (const bool checkpointed : {false, true}) {
    const LossSum shared = shared_prefix_loss(*model, samples, checkpointed);
    shared.sum.backward();
    const auto got = gradients();
    EXPECT_EQ(shared.tokens, tokens);
    EXPECT_NEAR(shared.sum.item<double>(), one_by_one, 1e-4 * one_by_one);
    for (const auto& [name, g] : expected) {
      EXPECT_LT((got.at(name) - g).abs().max().item<double>(),
                1e-4 * (g.abs().max().item<double>() + 1e-6))
          << name << (checkpointed ? " (checkpointed)" : "");
    }
  }
}

TEST(SharedPrefixLoss, TheTrainerGivesTheSameLossesWithAndWithoutIt) {
  const core::TempDir apart, together;
  TrainOptions options = tiny_options(apart.path());
  options.batch = 3;
  options.epochs = 3;
  const TrainResult one_by_one = fine_tune(options, few_samples());
  options.out = together.path();
  options.share_prefix = true;
  const TrainResult shared = fine_tune(options, few_samples());
  ASSERT_EQ(shared.log.size(), one_by_one.log.size());
  for (std::size_t i = 0; i < shared.log.size(); ++i) {
    EXPECT_NEAR(shared.log[i].loss, one_by_one.log[i].loss, 1e-4) << "step " << i + 1;
  }
}

// --full: every language-model weight trains and the output is a whole checkpoint, which the
// engine loads to the trainer's own last eval loss; the vision tower is left as it was; a run
// stopped part way resumes to the same losses.
TEST(FullFineTuning, TrainsTheLanguageModelAndWritesACheckpointTheEngineLoads) {
  const core::TempDir out, parts, pretrained;
  // A base that was itself trained (mat pretrain): its records must not replace the tuning's.
  fs::copy(fixture_model_dir(), pretrained.path(), fs::copy_options::recursive);
  std::ofstream(pretrained.path() / "train_log.jsonl") << R"({"step":1,"loss":9.0,"lr":0.001})"
                                                       << "\n";
  std::ofstream(pretrained.path() / "pretrain_config.json") << "{}\n";
  TrainOptions options = tiny_options(out.path());
  options.base = pretrained.path();
  options.full = true;
  options.lr = 5e-3;
  const Sample eval = golden_sample();
  const TrainResult result = fine_tune(options, few_samples(), {eval});
  ASSERT_TRUE(result.finished);
  const auto l = losses(result);
  EXPECT_LT((l[27] + l[28] + l[29]) / 3, 0.5 * (l[0] + l[1] + l[2]) / 3);
  EXPECT_FALSE(fs::exists(out.path() / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(out.path() / "tokenizer.json"));
  EXPECT_EQ(read_train_log(out.path() / "train_log.jsonl").size(), result.log.size());
  EXPECT_FALSE(fs::exists(out.path() / "pretrain_config.json"));

  engine::Qwen2VLModel tuned = engine::load_qwen2vl_model(out.path(), {});
  engine::Qwen2VLModel base = fixture_model();
  tuned->eval();
  {
    torch::NoGradGuard no_grad;
    const LossSum loss = sample_loss(*tuned, eval);
    EXPECT_NEAR(loss.sum.item<double>() / static_cast<double>(loss.tokens),
                *result.log.back().eval_loss, 1e-5);
  }
  const auto base_params = base->named_parameters();
  int changed = 0;
  for (const auto& p : tuned->named_parameters()) {
    const bool same = torch::equal(p.value(), base_params[p.key()]);
    if (p.key().rfind("visual.", 0) == 0) {
      EXPECT_TRUE(same) << p.key();
    } else {
      changed += same ? 0 : 1;
    }
  }
  EXPECT_GT(changed, 10);

  options.out = parts.path();
  options.max_steps = 5;
  ASSERT_FALSE(fine_tune(options, few_samples(), {eval}).finished);
  options.max_steps = 0;
  options.resume = true;
  EXPECT_EQ(losses(fine_tune(options, few_samples(), {eval})), l);

  options.dtype = "bf16";
  EXPECT_THROW(fine_tune(options, few_samples()), core::Error);
}

}  // namespace
}  // namespace mat::train

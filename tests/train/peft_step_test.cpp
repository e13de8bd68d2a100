// mat's training step against PEFT's (tests/fixtures/golden/train/,
// tools/golden/train_fixtures.py): from the same adapter on the same sample, the loss, the gradient
// of every LoRA tensor, and the adapter after three AdamW steps with the same hyperparameters, all
// in float32.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mat/train/adamw.h"
#include "mat/train/lora_setup.h"
#include "mat/train/sample_loss.h"
#include "mat/train/tensor_file.h"
#include "train/train_fixture.h"

namespace mat::train {
namespace {

using testing::golden_sample;
using testing::train_golden_dir;

// float32 on both sides (libtorch 1.13 against torch 2.x); the differences are summation order
// only. Loss and three-step adapter measured within 1e-5 absolute.
constexpr double kLossTolerance = 1e-5;
constexpr double kGradTolerance =
    5e-5;  // relative to the tensor's largest gradient (measured 1.0e-5)
constexpr double kAdapterTolerance = 1e-5;

double relative_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

class PeftStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::fixture_model();
    modules_ = attach_lora_from(*model_, train_golden_dir() / "adapter_init");
    model_->train();
    expected_ = core::read_json_file(train_golden_dir() / "sample.json");
  }

  engine::Qwen2VLModel model_{nullptr};
  std::vector<LoraModule> modules_;
  core::Json expected_;
  Sample sample_ = golden_sample();
};

TEST_F(PeftStepTest, LossAndGradientsEqualPeft) {
  ASSERT_EQ(modules_.size(), 8u);  // q, k, v, o of two layers
  const LossSum loss = sample_loss(*model_, sample_);
  EXPECT_EQ(loss.tokens, expected_.at("targets").get<std::int64_t>());
  const torch::Tensor mean = loss.sum / static_cast<double>(loss.tokens);
  mean.backward();
  EXPECT_NEAR(mean.item<double>(), expected_.at("loss").get<double>(), kLossTolerance);

  const auto grads = read_tensor_file(train_golden_dir() / "grads.safetensors");
  const auto ours = peft_tensors(modules_);
  ASSERT_EQ(grads.size(), ours.size());
  for (const auto& [name, param] : ours) {
    ASSERT_TRUE(grads.count(name)) << name;
    ASSERT_TRUE(param.grad().defined()) << name;
    EXPECT_LT(relative_diff(param.grad(), grads.at(name)), kGradTolerance) << name;
  }
}

TEST_F(PeftStepTest, ThreeAdamWStepsEqualTorch) {
  const core::Json& o = expected_.at("optimizer");
  AdamW optimizer(peft_tensors(modules_),
                  {o.at("beta1").get<double>(), o.at("beta2").get<double>(),
                   o.at("eps").get<double>(), o.at("weight_decay").get<double>()});
  const auto losses = expected_.at("losses").get<std::vector<double>>();
  for (std::size_t step = 0; step < losses.size(); ++step) {
    const LossSum loss = sample_loss(*model_, sample_);
    const torch::Tensor mean = loss.sum / static_cast<double>(loss.tokens);
    mean.backward();
    EXPECT_NEAR(mean.item<double>(), losses[step], 1e-4) << "step " << step;
    optimizer.step(o.at("lr").get<double>());
    optimizer.zero_grad();
  }
  const auto expected = read_tensor_file(train_golden_dir() / "adapter_step3.safetensors");
  for (const auto& [name, param] : peft_tensors(modules_)) {
    ASSERT_TRUE(expected.count(name)) << name;
    EXPECT_LT((param.detach() - expected.at(name)).abs().max().item<double>(), kAdapterTolerance)
        << name;
  }
}

TEST_F(PeftStepTest, CheckpointedLayersGiveTheSameLossAndGradients) {
  const LossSum plain = sample_loss(*model_, sample_, /*checkpoint_layers=*/false);
  plain.sum.backward();
  std::map<std::string, torch::Tensor> first;
  for (const auto& [name, p] : peft_tensors(modules_)) {
    first[name] = p.grad().clone();
    p.mutable_grad() = torch::Tensor();
  }
  const LossSum checkpointed = sample_loss(*model_, sample_, /*checkpoint_layers=*/true);
  checkpointed.sum.backward();
  EXPECT_EQ(plain.sum.item<double>(), checkpointed.sum.item<double>());
  for (const auto& [name, p] : peft_tensors(modules_)) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LT((p.grad() - first[name]).abs().max().item<double>(), 1e-6) << name;
  }
}

}  // namespace
}  // namespace mat::train

// dense() against torch's linear, op by op: bf16 weights through the AVX2 kernel (1 to 8 rows)
// and the widened f32 GEMM (more rows, or a gradient to record), odd widths that leave a tail,
// biases, and the gradients autograd gets through it; attention_matmul() against torch's matmul.
#include "mat/engine/cpu_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mat::engine {
namespace {

// The f32 product of the bf16 values, rounded once to bf16: what any bf16 matmul should give.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::nn::functional::linear(x.to(torch::kFloat32), w.to(torch::kFloat32),
                                       b.defined() ? b.to(torch::kFloat32) : b)
      .to(torch::kBFloat16);
}

// Within one bf16 rounding step of the reference (summation order differs).
void expect_close(const torch::Tensor& got, const torch::Tensor& want) {
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_EQ(got.scalar_type(), want.scalar_type());
  const torch::Tensor g = got.to(torch::kFloat32);
  const torch::Tensor w = want.to(torch::kFloat32);
  const double tolerance = 1e-2 * (w.abs().max().item<double>() + 1.0);
  EXPECT_LE((g - w).abs().max().item<double>(), tolerance);
}

TEST(Dense, Bf16WeightsMatchTheF32ProductForEveryRowCount) {
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  for (const std::int64_t in : {16, 40, 56, 1536}) {
    for (const std::int64_t out : {1, 7, 300}) {
      const torch::Tensor w = torch::randn({out, in}).to(torch::kBFloat16);
      const torch::Tensor b = torch::randn({out}).to(torch::kBFloat16);
      for (const std::int64_t rows : {1, 2, 3, 4, 5, 8, 9, 33}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, " + std::to_string(in) + " -> " +
                     std::to_string(out));
        const torch::Tensor x = torch::randn({1, rows, in}).to(torch::kBFloat16);
        expect_close(dense(x, w, b), reference(x, w, b));
        expect_close(dense(x, w), reference(x, w, {}));
      }
    }
  }
}

TEST(Dense, OtherDtypesAreTorchsLinearExactly) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = torch::randn({5, 12});
  const torch::Tensor x = torch::randn({3, 12});
  EXPECT_TRUE(torch::equal(dense(x, w), torch::nn::functional::linear(x, w)));
}

TEST(Dense, OneF32RowIsTheMatrixVectorProductInItsOwnShape) {
  torch::manual_seed(6);
  const torch::Tensor w = torch::randn({300, 64});
  const torch::Tensor b = torch::randn({300});
  const torch::Tensor x = torch::randn({1, 1, 64});
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = dense(x, w, b);
  }
  ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{1, 1, 300}));
  expect_close(y, torch::nn::functional::linear(x, w, b));
  // With a gradient to record, it stays torch's linear.
  const torch::Tensor xg = x.clone().requires_grad_(true);
  dense(xg, w).sum().backward();
  ASSERT_TRUE(xg.grad().defined());
  expect_close(xg.grad().reshape({64}), w.sum(0));
}

TEST(Dense, GradientsFlowThroughTheBf16Path) {
  torch::manual_seed(4);
  const torch::Tensor w = torch::randn({6, 32}).to(torch::kBFloat16);
  const torch::Tensor x0 = torch::randn({2, 32});
  const torch::Tensor x = x0.to(torch::kBFloat16).requires_grad_(true);
  dense(x, w).to(torch::kFloat32).sum().backward();
  // d/dx of sum(x W^T) is the column sums of W, for every row.
  const torch::Tensor want = w.to(torch::kFloat32).sum(0).expand({2, 32});
  ASSERT_TRUE(x.grad().defined());
  EXPECT_LE((x.grad().to(torch::kFloat32) - want).abs().max().item<double>(),
            1e-2 * (want.abs().max().item<double>() + 1));
}

TEST(AttentionMatmul, Bf16BatchedProductsMatchTheF32Product) {
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  const torch::Tensor q = torch::randn({1, 2, 12, 16}).to(torch::kBFloat16);
  const torch::Tensor k = torch::randn({1, 2, 9, 16}).to(torch::kBFloat16);
  const torch::Tensor scores = attention_matmul(q, k.transpose(2, 3));
  expect_close(scores, torch::matmul(q.to(torch::kFloat32), k.to(torch::kFloat32).transpose(2, 3))
                           .to(torch::kBFloat16));
  const torch::Tensor f = torch::randn({3, 4, 5});
  const torch::Tensor g = torch::randn({3, 5, 2});
  EXPECT_TRUE(torch::equal(attention_matmul(f, g), torch::matmul(f, g)));
}

TEST(AttentionMatmul, GradientsFlowThroughTheBf16Path) {
  const torch::Tensor a = torch::randn({2, 3, 4}).to(torch::kBFloat16).requires_grad_(true);
  const torch::Tensor b = torch::ones({2, 4, 5}).to(torch::kBFloat16);
  attention_matmul(a, b).to(torch::kFloat32).sum().backward();
  ASSERT_TRUE(a.grad().defined());
  // d/da of sum(a b) with b all ones is 5 everywhere.
  EXPECT_TRUE(torch::equal(a.grad().to(torch::kFloat32), torch::full({2, 3, 4}, 5.0)));
}

}  // namespace
}  // namespace mat::engine

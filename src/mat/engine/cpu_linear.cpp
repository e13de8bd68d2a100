#include "mat/engine/cpu_linear.h"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mat::engine {

namespace {

constexpr std::int64_t kMaxKernelRows = 8;  // beyond this the f32 GEMM is faster
constexpr std::int64_t kWidenBlock = 4096;  // output rows widened to f32 at a time
constexpr std::int64_t kRowsPerDot = 4;     // input rows sharing one pass over a weight row

bool use_bf16_kernels() {
  static const bool use = [] {
    const char* setting = std::getenv("MAT_BF16_KERNELS");
    if (setting != nullptr && std::strcmp(setting, "0") == 0) return false;
    __builtin_cpu_init();
    return !__builtin_cpu_supports("avx512bf16");
  }();
  return use;
}

bool have_avx2_fma() {
  static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
}

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
}

inline float bf16_to_f32(std::uint16_t v) {
  const std::uint32_t bits = static_cast<std::uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// The kernel widens bf16 without shuffles: a 32-bit lane holding the pair (w[2i], w[2i+1]) gives
// w[2i] when shifted left by 16 and w[2i+1] when its low half is masked off. So each block of 16
// weights is multiplied by x's 16 values reordered once per call into (even indices, odd indices).
constexpr std::int64_t kBlock = 16;

// x[rows, in] with each full block of 16 reordered as x[0], x[2], ..., x[14], x[1], ..., x[15]; the
// tail (in % 16) stays in place.
std::vector<float> split_even_odd(const float* x, std::int64_t rows, std::int64_t in) {
  std::vector<float> split(static_cast<std::size_t>(rows * in));
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * in;
    float* dst = split.data() + r * in;
    std::int64_t k = 0;
    for (; k + kBlock <= in; k += kBlock) {
      for (std::int64_t i = 0; i < kBlock / 2; ++i) {
        dst[k + i] = src[k + 2 * i];
        dst[k + kBlock / 2 + i] = src[k + 2 * i + 1];
      }
    }
    for (; k < in; ++k) dst[k] = src[k];
  }
  return split;
}

// out[r] = dot(w[0:in], x[r * in : (r + 1) * in]) for R rows of x (reordered by split_even_odd).
// Fewer rows unroll over more blocks, so that enough independent FMA chains hide the latency.
template <int R>
__attribute__((target("avx2,fma"))) void dot_rows(const float* x, std::int64_t in,
                                                  const std::uint16_t* w, float* out) {
  constexpr int kUnroll = R <= 2 ? 2 : 1;
  const __m256i high_half = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  __m256 acc[R][2 * kUnroll];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 2 * kUnroll; ++c) acc[r][c] = _mm256_setzero_ps();
  std::int64_t k = 0;
  for (; k + kUnroll * kBlock <= in; k += kUnroll * kBlock) {
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t at = k + u * kBlock;
      const __m256i pairs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + at));
      const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
      const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(pairs, high_half));
      for (int r = 0; r < R; ++r) {
        const float* xr = x + r * in + at;
        acc[r][2 * u] = _mm256_fmadd_ps(even, _mm256_loadu_ps(xr), acc[r][2 * u]);
        acc[r][2 * u + 1] = _mm256_fmadd_ps(odd, _mm256_loadu_ps(xr + 8), acc[r][2 * u + 1]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    __m256 total = acc[r][0];
    for (int c = 1; c < 2 * kUnroll; ++c) total = _mm256_add_ps(total, acc[r][c]);
    float sum = horizontal_sum(total);
    // Whole blocks left over from the unrolling are still reordered; the tail is in place.
    std::int64_t j = k;
    for (; j + kBlock <= in; j += kBlock) {
      for (std::int64_t i = 0; i < kBlock / 2; ++i) {
        sum += bf16_to_f32(w[j + 2 * i]) * x[r * in + j + i] +
               bf16_to_f32(w[j + 2 * i + 1]) * x[r * in + j + kBlock / 2 + i];
      }
    }
    for (; j < in; ++j) sum += bf16_to_f32(w[j]) * x[r * in + j];
    out[r] = sum;
  }
}

// y[rows, out] = x[rows, in] (f32) times w[out, in] (bf16) transposed.
void bf16_matvec(const float* x, std::int64_t rows, std::int64_t in, const std::uint16_t* w,
                 std::int64_t out, float* y) {
  const std::vector<float> split = split_even_odd(x, rows, in);
  at::parallel_for(0, out, 16, [&](std::int64_t begin, std::int64_t end) {
    float part[kRowsPerDot];
    for (std::int64_t o = begin; o < end; ++o) {
      const std::uint16_t* row = w + o * in;
      for (std::int64_t r0 = 0; r0 < rows; r0 += kRowsPerDot) {
        const std::int64_t n = std::min(kRowsPerDot, rows - r0);
        const float* xr = split.data() + r0 * in;
        switch (n) {
          case 4:
            dot_rows<4>(xr, in, row, part);
            break;
          case 3:
            dot_rows<3>(xr, in, row, part);
            break;
          case 2:
            dot_rows<2>(xr, in, row, part);
            break;
          default:
            dot_rows<1>(xr, in, row, part);
            break;
        }
        for (std::int64_t i = 0; i < n; ++i) y[(r0 + i) * out + o] = part[i];
      }
    }
  });
}

bool records_gradient(const torch::Tensor& x, const torch::Tensor& weight,
                      const torch::Tensor& bias) {
  return torch::GradMode::is_enabled() &&
         (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
}

torch::Tensor kernel_linear(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias, std::int64_t rows) {
  const std::int64_t in = weight.size(1);
  const std::int64_t out = weight.size(0);
  const torch::Tensor x32 = x.reshape({rows, in}).to(torch::kFloat32).contiguous();
  const torch::Tensor w = weight.contiguous();
  torch::Tensor y = torch::empty({rows, out}, x32.options());
  bf16_matvec(x32.data_ptr<float>(), rows, in,
              reinterpret_cast<const std::uint16_t*>(w.data_ptr<at::BFloat16>()), out,
              y.data_ptr<float>());
  if (bias.defined()) y.add_(bias.to(torch::kFloat32));
  std::vector<std::int64_t> shape = x.sizes().vec();
  shape.back() = out;
  return y.to(weight.scalar_type()).view(shape);
}

torch::Tensor widened_linear(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
  const torch::Tensor x32 = x.to(torch::kFloat32);
  std::vector<torch::Tensor> blocks;
  for (std::int64_t o = 0; o < weight.size(0); o += kWidenBlock) {
    const std::int64_t n = std::min(kWidenBlock, weight.size(0) - o);
    const torch::Tensor b = bias.defined() ? bias.narrow(0, o, n).to(torch::kFloat32) : bias;
    blocks.push_back(
        torch::nn::functional::linear(x32, weight.narrow(0, o, n).to(torch::kFloat32), b));
  }
  const torch::Tensor y = blocks.size() == 1 ? blocks.front() : torch::cat(blocks, -1);
  return y.to(weight.scalar_type());
}

// One row of f32 (decoding one sequence) as a matrix-vector product: the BLAS GEMM that linear
// calls packs the whole weight matrix into its panel format on every call, which for one row
// costs more than the product itself (decoding a 4-layer controller spent two thirds of its time
// there); GEMV streams the weights once, as they are.
torch::Tensor single_row_linear(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias) {
  torch::Tensor y = torch::mv(weight, x.reshape({-1}));
  if (bias.defined()) y.add_(bias);
  std::vector<std::int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return y.view(shape);
}

}  // namespace

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight,
                    const torch::Tensor& bias) {
  if (weight.scalar_type() == torch::kFloat32 && x.scalar_type() == torch::kFloat32 &&
      weight.device().is_cpu() && x.numel() == weight.size(1) && weight.is_contiguous() &&
      !records_gradient(x, weight, bias)) {
    return single_row_linear(x, weight, bias);
  }
  if (weight.scalar_type() != torch::kBFloat16 || !weight.device().is_cpu() ||
      !use_bf16_kernels() || x.size(-1) != weight.size(1)) {
    return torch::nn::functional::linear(x, weight, bias);
  }
  const std::int64_t rows = x.numel() / weight.size(1);
  if (rows <= kMaxKernelRows && have_avx2_fma() && !records_gradient(x, weight, bias)) {
    return kernel_linear(x, weight, bias, rows);
  }
  return widened_linear(x, weight, bias);
}

torch::Tensor attention_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != torch::kBFloat16 || b.scalar_type() != torch::kBFloat16 ||
      !a.device().is_cpu() || !use_bf16_kernels()) {
    return torch::matmul(a, b);
  }
  return torch::matmul(a.to(torch::kFloat32), b.to(torch::kFloat32)).to(torch::kBFloat16);
}

}  // namespace mat::engine

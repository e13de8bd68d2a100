// dense(x, W, b) = x W^T + b, as torch::nn::functional::linear computes it, made fast for bf16
// weights on CPUs without native bf16 arithmetic (AVX2 without AVX-512 BF16), where libtorch 1.13
// converts element by element and runs several times slower in bf16 than in f32:
//
//   - a few rows (decoding, batch <= 8): an AVX2 kernel that streams the bf16 weights once,
//     widening them in registers and accumulating in f32, split over libtorch's threads. Decoding
//     is bound by reading the weights, so this is what reaches the bandwidth roofline;
//   - more rows (prefill, training): the weights widened to f32 a block at a time and multiplied
//     by the f32 GEMM (the widening is one pass over the weights, small beside the product).
//
// Both round the f32 result to bf16 once, as a bf16 matmul does. One row of f32 with f32 weights
// on the CPU (decoding one sequence in f32) is a matrix-vector product: GEMM would repack the
// whole weight matrix for that one row. Everything else (f32 or f16 weights with more rows,
// CUDA, CPUs with AVX-512 BF16, MAT_BF16_KERNELS=0) goes to torch's linear unchanged.
// Differentiable wherever autograd records: the kernel only runs when no gradient is needed.
//
// attention_matmul(a, b) is torch::matmul with the same rule for the activation-by-activation
// products of attention (q k^T, p v): on those CPUs, bf16 operands are multiplied in f32 and
// rounded once.
//
// Torch header: include it only from the engine and the trainer.
#pragma once

#include <torch/types.h>

namespace mat::engine {

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight,
                    const torch::Tensor& bias = {});

torch::Tensor attention_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace mat::engine

// AdamW with decoupled weight decay (Loshchilov & Hutter), the update torch.optim.AdamW makes:
//
//   p <- p * (1 - lr * weight_decay)
//   m <- beta1 * m + (1 - beta1) * g          v <- beta2 * v + (1 - beta2) * g^2
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//
// State (m, v) in float32 whatever the parameters' dtype; the step count is shared by all
// parameters. Torch header: include it only from the trainer.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mat::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  // `params` by name (names key the saved state); each must require gradients.
  AdamW(std::map<std::string, torch::Tensor> params, const AdamWOptions& options);

  // One update with learning rate `lr` from the parameters' .grad() (a parameter without a
  // gradient is skipped, as torch does).
  void step(double lr);
  void zero_grad();
  // Scales the gradients to a global norm of at most `max_norm` (torch's clip_grad_norm_; 0: no
  // clipping) and returns the norm before clipping.
  double clip_grad_norm(double max_norm);

  std::int64_t steps() const { return steps_; }
  // m and v of every parameter ("<name>.exp_avg", "<name>.exp_avg_sq") for a checkpoint.
  std::map<std::string, torch::Tensor> state() const;
  // Restores state() and the step count. Throws core::Error for a missing or misshapen tensor.
  void load_state(const std::map<std::string, torch::Tensor>& state, std::int64_t steps);

 private:
  struct Slot {
    torch::Tensor param;
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
  };
  std::map<std::string, Slot> slots_;
  AdamWOptions options_;
  std::int64_t steps_ = 0;
};

}  // namespace mat::train

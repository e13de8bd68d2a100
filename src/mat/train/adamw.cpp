#include "mat/train/adamw.h"

#include <torch/torch.h>

#include <cmath>

#include "mat/core/error.h"

namespace mat::train {

AdamW::AdamW(std::map<std::string, torch::Tensor> params, const AdamWOptions& options)
    : options_(options) {
  for (auto& [name, p] : params) {
    const auto state_options = p.options().dtype(torch::kFloat32).requires_grad(false);
    slots_[name] = {p, torch::zeros(p.sizes(), state_options),
                    torch::zeros(p.sizes(), state_options)};
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bias1 = 1.0 - std::pow(options_.beta1, t);
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, t));
  for (auto& [name, slot] : slots_) {
    const torch::Tensor grad = slot.param.grad();
    if (!grad.defined()) continue;
    const torch::Tensor g = grad.to(torch::kFloat32);
    torch::Tensor p = slot.param.to(torch::kFloat32);  // the parameter itself when it is fp32
    p.mul_(1.0 - lr * options_.weight_decay);
    slot.exp_avg.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    slot.exp_avg_sq.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    const torch::Tensor denom = (slot.exp_avg_sq.sqrt() / bias2_sqrt).add_(options_.eps);
    p.addcdiv_(slot.exp_avg, denom, -lr / bias1);
    if (!p.is_same(slot.param)) slot.param.copy_(p);
  }
}

void AdamW::zero_grad() {
  for (auto& [_, slot] : slots_) {
    if (slot.param.grad().defined()) slot.param.mutable_grad() = torch::Tensor();
  }
}

double AdamW::clip_grad_norm(double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& [_, slot] : slots_) {
    if (slot.param.grad().defined()) grads.push_back(slot.param.grad());
  }
  double squares = 0;
  for (const torch::Tensor& g : grads) squares += g.to(torch::kFloat64).pow(2).sum().item<double>();
  const double norm = std::sqrt(squares);
  if (max_norm > 0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1) {
      for (torch::Tensor& g : grads) g.mul_(coef);
    }
  }
  return norm;
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, slot] : slots_) {
    out[name + ".exp_avg"] = slot.exp_avg;
    out[name + ".exp_avg_sq"] = slot.exp_avg_sq;
  }
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state, std::int64_t steps) {
  torch::NoGradGuard no_grad;
  for (auto& [name, slot] : slots_) {
    for (auto [suffix, target] :
         {std::pair{".exp_avg", &slot.exp_avg}, std::pair{".exp_avg_sq", &slot.exp_avg_sq}}) {
      auto it = state.find(name + suffix);
      if (it == state.end() || it->second.sizes() != target->sizes()) {
        throw core::Error("optimizer state: tensor '" + name + suffix + "' is " +
                          (it == state.end() ? "missing" : "of another shape") +
                          "; the checkpoint belongs to another adapter configuration");
      }
      target->copy_(it->second);
    }
  }
  steps_ = steps;
}

}  // namespace mat::train

#include "mat/train/activation_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

namespace mat::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Generator cpu_generator() {
  return at::detail::getDefaultCPUGenerator();
}

struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  // Runs without gradients (Function::apply disables them around forward).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               engine::DecoderLayerImpl* layer, const engine::Rope* rope,
                               const torch::Tensor* mask, at::TensorList params) {
    ctx->saved_data["layer"] = reinterpret_cast<std::int64_t>(layer);
    ctx->saved_data["cos"] = rope->cos;
    ctx->saved_data["sin"] = rope->sin;
    if (mask->defined()) ctx->saved_data["mask"] = *mask;
    {
      at::Generator gen = cpu_generator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    std::vector<torch::Tensor> saved{x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    return layer->forward(x, *rope, *mask);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const variable_list saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<engine::DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    const engine::Rope rope{ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor()};
    const torch::Tensor mask =
        ctx->saved_data.count("mask") != 0 ? ctx->saved_data["mask"].toTensor() : torch::Tensor();

    const torch::Tensor x = saved[0].detach().requires_grad_(true);
    torch::Tensor y;
    {
      // Replay the forward pass's random draws, then give the generator its state back so that
      // the rest of the run does not depend on whether checkpointing is on.
      at::Generator gen = cpu_generator();
      torch::Tensor now;
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        now = gen.get_state();
        gen.set_state(ctx->saved_data["rng"].toTensor());
      }
      torch::AutoGradMode enable(true);
      y = layer->forward(x, rope, mask);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(now);
    }
    variable_list inputs{x};
    inputs.insert(inputs.end(), saved.begin() + 1, saved.end());
    const variable_list grads =
        torch::autograd::grad({y}, inputs, {grad_out[0]},
                              /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    // One entry per forward argument: x, layer, rope, mask (no gradient), then the parameters.
    variable_list out{grads[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
    out.insert(out.end(), grads.begin() + 1, grads.end());
    return out;
  }
};

}  // namespace

torch::Tensor checkpointed_layer(engine::DecoderLayerImpl& layer, const torch::Tensor& x,
                                 const engine::Rope& rope, const torch::Tensor& mask) {
  std::vector<torch::Tensor> params;
  for (const torch::Tensor& p : layer.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  return CheckpointedLayer::apply(x, &layer, &rope, &mask, at::TensorList(params));
}

}  // namespace mat::train

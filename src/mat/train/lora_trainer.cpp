#include "mat/train/lora_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/train/adamw.h"
#include "mat/train/checkpoint.h"
#include "mat/train/language_model_weights.h"
#include "mat/train/lora_setup.h"
#include "mat/train/lr_schedule.h"
#include "mat/train/model_writer.h"
#include "mat/train/sample_loss.h"
#include "mat/train/sample_order.h"

namespace mat::train {

namespace {

namespace fs = std::filesystem;

torch::Dtype compute_dtype(const std::string& name) {
  if (name == "bf16") return torch::kBFloat16;
  if (name == "f32") return torch::kFloat32;
  throw core::Error("training dtype '" + name + "' is not supported; use bf16 or f32");
}

void check_options(const TrainOptions& o) {
  const auto fail = [](const std::string& why) { throw core::Error(why); };
  if (o.epochs < 1) fail("--epochs must be at least 1");
  if (o.batch < 1 || o.grad_accum < 1) fail("--batch and --grad-accum must be at least 1");
  if (!(o.lr > 0)) fail("--lr must be positive");
  if (o.warmup < 0 || o.warmup > 1) fail("--warmup is a fraction of the steps, in [0, 1]");
  if (o.lora.dropout < 0 || o.lora.dropout >= 1) fail("--dropout must be in [0, 1)");
  if (o.full && o.dtype != "f32") fail("--full trains the weights themselves, in f32: --dtype f32");
  if (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1) fail("betas must be in [0, 1)");
}

double eval_loss(engine::Qwen2VLModelImpl& model, const std::vector<const Sample*>& eval) {
  torch::NoGradGuard no_grad;
  model.eval();
  double sum = 0;
  std::int64_t tokens = 0;
  for (const Sample* s : eval) {
    const LossSum l = sample_loss(model, *s);
    sum += l.sum.item<double>();
    tokens += l.tokens;
  }
  model.train();
  return tokens > 0 ? sum / static_cast<double>(tokens) : 0.0;
}

std::vector<StepRecord> log_until(const fs::path& path, std::int64_t step) {
  std::vector<StepRecord> log = read_train_log(path);
  log.erase(
      std::remove_if(log.begin(), log.end(), [&](const StepRecord& r) { return r.step > step; }),
      log.end());
  return log;
}

// What trains: the LoRA adapters (by PEFT's names), or with --full the language model's weights.
struct Trained {
  std::vector<LoraModule> adapters;
  std::map<std::string, torch::Tensor> tensors;
};

Trained make_trainable(engine::Qwen2VLModelImpl& model, const TrainOptions& options) {
  if (options.full) return {{}, train_language_model_weights(model)};
  std::vector<LoraModule> adapters = attach_lora(model, options.lora);
  std::map<std::string, torch::Tensor> tensors = peft_tensors(adapters);
  return {std::move(adapters), std::move(tensors)};
}

void write_result(engine::Qwen2VLModelImpl& model, const Trained& trained,
                  const TrainOptions& options) {
  if (!options.full) {
    write_peft_adapter(options.out, trained.adapters, options.lora);
    return;
  }
  copy_model_files(options.base, options.out);
  write_model_weights(model, options.out / "model.safetensors", checkpoint_format(options.base));
}

}  // namespace

TrainResult fine_tune(const TrainOptions& options, const std::vector<Sample>& data,
                      const std::vector<Sample>& eval_data, const StepObserver& on_step) {
  check_options(options);
  TrainResult result;
  std::vector<const Sample*> train;
  for (const Sample& s : data) {
    if (options.max_len > 0 && static_cast<std::int64_t>(s.ids.size()) > options.max_len) {
      ++result.skipped_too_long;
    } else if (loss_tokens(s) > 0) {
      train.push_back(&s);
    }
  }
  if (train.empty()) {
    throw core::Error("no sample with target tokens within --max-len " +
                      std::to_string(options.max_len) + " (" + std::to_string(data.size()) +
                      " given, " + std::to_string(result.skipped_too_long) + " too long)");
  }
  std::vector<const Sample*> eval;
  for (const Sample& s : eval_data) eval.push_back(&s);

  const fs::path checkpoint_dir = options.out / "checkpoint";
  const fs::path log_path = options.out / "train_log.jsonl";
  const core::Json config = to_json(options);
  fs::create_directories(options.out);

  torch::manual_seed(options.seed);
  engine::Qwen2VLModel model = engine::load_qwen2vl_model(
      options.base, {compute_dtype(options.dtype), torch::Device(options.device)});
  const Trained trained = make_trainable(*model, options);
  AdamW optimizer(trained.tensors,
                  {options.beta1, options.beta2, options.eps, options.weight_decay});
  model->train();

  const std::size_t per_step = static_cast<std::size_t>(options.batch) * options.grad_accum;
  const auto steps_per_epoch = static_cast<std::int64_t>((train.size() + per_step - 1) / per_step);
  result.total_steps = steps_per_epoch * options.epochs;
  const LrSchedule schedule{
      options.lr, static_cast<std::int64_t>(std::ceil(options.warmup * result.total_steps)),
      result.total_steps};

  std::int64_t step = 0;
  if (options.resume) {
    step = load_checkpoint(checkpoint_dir, trained.tensors, optimizer, config);
    result.log = log_until(log_path, step);
  }
  write_train_log(log_path, result.log);
  core::write_json_file(options.out / "train_config.json", config);

  const auto save = [&] {
    save_checkpoint(checkpoint_dir, trained.tensors, optimizer, step, config);
  };
  std::int64_t order_epoch = -1;
  std::vector<std::size_t> order;
  std::vector<std::size_t> lengths;
  for (const Sample* sample : train) lengths.push_back(sample->ids.size());
  const std::int64_t stop =
      options.max_steps > 0 ? std::min(result.total_steps, options.max_steps) : result.total_steps;
  while (step < stop) {
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t epoch = step / steps_per_epoch;
    if (epoch != order_epoch) {
      order = epoch_order(lengths, options.seed, epoch, static_cast<std::size_t>(options.batch));
      order_epoch = epoch;
    }
    const std::size_t first = static_cast<std::size_t>(step % steps_per_epoch) * per_step;
    const std::size_t last = std::min(train.size(), first + per_step);
    std::int64_t targets = 0, tokens = 0;
    for (std::size_t i = first; i < last; ++i) {
      targets += loss_tokens(*train[order[i]]);
      tokens += static_cast<std::int64_t>(train[order[i]]->ids.size());
    }
    double loss = 0;
    const std::size_t per_forward = options.share_prefix ? options.batch : 1;
    for (std::size_t i = first; i < last; i += per_forward) {
      std::vector<const Sample*> together;
      for (std::size_t j = i; j < std::min(last, i + per_forward); ++j) {
        together.push_back(train[order[j]]);
      }
      const LossSum l = shared_prefix_loss(*model, together, options.grad_checkpointing);
      const torch::Tensor scaled = l.sum / static_cast<double>(targets);
      scaled.backward();
      loss += scaled.item<double>();
    }
    StepRecord record;
    record.step = step + 1;
    record.loss = loss;
    record.grad_norm = optimizer.clip_grad_norm(options.clip);
    record.lr = schedule.at(step);
    optimizer.step(record.lr);
    optimizer.zero_grad();
    ++step;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record.tokens_per_s = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
    const bool at_checkpoint = options.save_every > 0 && step % options.save_every == 0;
    if (!eval.empty() && (at_checkpoint || step == result.total_steps)) {
      record.eval_loss = eval_loss(*model, eval);
    }
    result.log.push_back(record);
    append_train_log(log_path, record);
    if (on_step) on_step(record, result.total_steps);
    if (at_checkpoint) save();
    if (core::interrupt_requested() && step < stop) {
      save();
      result.interrupted = true;
      break;
    }
  }
  if (!result.interrupted) save();
  result.finished = step == result.total_steps;
  if (result.finished) write_result(*model, trained, options);
  std::ofstream(options.out / "loss.svg") << loss_chart_svg(result.log);
  return result;
}

}  // namespace mat::train

// `mat train`'s engine: LoRA (or full-parameter) fine-tuning of a Qwen2-VL checkpoint on
// tokenized samples.
//
//   TrainOptions options;  options.base = "Qwen2-VL-7B-Instruct/";  options.out = "runs/lora/";
//   TrainResult result = fine_tune(options, samples, eval_samples,
//                                  [](const StepRecord& r, std::int64_t total) { ... });
//
// The vision tower and every base weight stay frozen (bf16 or f32 compute); the adapters and the
// AdamW state are float32. With options.full the language model's own weights train instead
// (f32), and `out` receives a whole checkpoint (the base's files, its weights replaced). Each
// optimizer step takes batch * grad_accum samples from a per-epoch seeded shuffle grouped by
// length, its loss the mean cross-entropy over all their target tokens; gradients are clipped to a
// global norm; the learning rate warms up linearly and decays as a cosine. Deterministic given the
// seed: two runs give identical losses.
//
// `out` receives, at the end: adapter_config.json + adapter_model.safetensors (PEFT's format;
// with full, config.json, model.safetensors and the rest of a checkpoint folder),
// train_log.jsonl, loss.svg and train_config.json; and checkpoint/ every save_every steps, at
// the end and on Ctrl-C (adapter, optimizer, scheduler position, RNG state, data position), from
// which `resume` continues exactly. Torch-free header.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "mat/train/sample.h"
#include "mat/train/train_log.h"
#include "mat/train/train_options.h"

namespace mat::train {

struct TrainResult {
  std::vector<StepRecord> log;  // every step so far (a resumed run's earlier steps included)
  std::int64_t total_steps = 0;
  std::int64_t skipped_too_long = 0;  // samples longer than max_len
  bool finished = false;              // every step done: the adapter (or model) was written
  bool interrupted = false;           // stopped by Ctrl-C or SIGTERM after saving a checkpoint
};

// Called after every optimizer step (for a progress display).
using StepObserver = std::function<void(const StepRecord& record, std::int64_t total_steps)>;

// Throws core::Error for an unusable base folder, options or samples, and for a resume whose
// checkpoint is missing or was made with other options.
TrainResult fine_tune(const TrainOptions& options, const std::vector<Sample>& data,
                      const std::vector<Sample>& eval_data = {}, const StepObserver& on_step = {});

}  // namespace mat::train

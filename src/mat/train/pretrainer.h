// `mat pretrain`: full-parameter causal-LM pretraining of a Qwen2-VL checkpoint's language model
// on plain text (source code, documentation, the agent's prompts), f32 on the CPU, the vision
// tower frozen. The base of the offline loop's tiny controller: `mat model init`, then a few
// minutes of this, then `mat train` (LoRA) on trajectories.
//
//   PretrainOptions o;  o.model = "models/init";  o.out = "models/base";
//   o.corpus = {"/usr/lib/python3.11", "prompts"};  o.minutes = 4;
//   PretrainResult r = pretrain(o, [](const StepRecord& r, const PretrainProgress& p) {...});
//
// The corpus is read once (a byte budget), tokenized, each document followed by <|endoftext|>,
// and cut into windows of seq_len tokens; every epoch visits the windows in a seeded shuffle.
// AdamW, warmup then cosine decay, global gradient clipping. Given --steps the run is
// deterministic (same seed, same losses); given --minutes the schedule is stretched over the
// number of steps the budget is estimated to allow, and the run stops before it is exceeded.
// `out` receives the trained checkpoint in the input's layout (model.safetensors in its naming,
// every other file copied), train_log.jsonl, loss.svg and pretrain_config.json. Torch-free
// header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/train/train_log.h"

namespace mat::train {

struct PretrainOptions {
  std::filesystem::path model;  // the checkpoint folder to start from
  std::filesystem::path out;
  std::vector<std::filesystem::path> corpus;  // text files and folders of them
  std::size_t max_corpus_bytes = 8u << 20;
  double minutes = 0;      // a time budget (the loop's way), or
  std::int64_t steps = 0;  // a number of optimizer steps (deterministic); one must be set
  std::int64_t seq_len = 512;
  std::int64_t batch = 8;  // windows per optimizer step
  double lr = 1e-3;
  double warmup = 0.05;  // fraction of the steps
  double weight_decay = 0.01;
  double clip = 1.0;
  std::uint64_t seed = 0;
  bool grad_checkpointing = false;
};

core::Json to_json(const PretrainOptions& options);

struct PretrainProgress {
  std::int64_t total_steps = 0;  // planned (estimated from the budget with --minutes)
  std::int64_t tokens_seen = 0;
  double elapsed_s = 0;
  double remaining_s = 0;
};

struct PretrainResult {
  std::vector<StepRecord> log;
  std::int64_t tokens_seen = 0;    // tokens of the windows trained on
  std::int64_t corpus_tokens = 0;  // tokens in the corpus (all windows of one epoch)
  std::size_t corpus_files = 0;
  double seconds = 0;            // training time (corpus reading excluded)
  double probe_loss_before = 0;  // the loss of the first `batch` windows before training
  double probe_loss_after = 0;   // and with the written weights
  bool interrupted = false;      // Ctrl-C: the weights so far were still written
};

using PretrainObserver = std::function<void(const StepRecord&, const PretrainProgress&)>;

// Throws core::Error for unusable options, a model folder that does not load, or a corpus too
// small for one window.
PretrainResult pretrain(const PretrainOptions& options, const PretrainObserver& on_step = {});

}  // namespace mat::train

// What a fine-tuning run is configured by: every `mat train` flag is a field here, and the
// resolved options are saved beside the outputs (train_config.json) so that a run can be
// reproduced, and resumed, from its folder alone. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mat/core/json.h"

namespace mat::train {

struct LoraSpec {
  int rank = 64;
  double alpha = 64;
  double dropout = 0.05;
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj"};  // module name suffixes
};

struct TrainOptions {
  std::filesystem::path base;  // the Hugging Face checkpoint folder
  std::filesystem::path out;   // adapter, checkpoint, train_log.jsonl, loss.svg
  LoraSpec lora;
  // Full-parameter fine-tuning instead of LoRA: every language-model weight trains (f32), and
  // `out` receives a whole checkpoint. For controllers small enough to afford it (the offline
  // loop's, trained from scratch, whose frozen random-ish embeddings LoRA cannot move).
  bool full = false;
  double lr = 1e-5;
  int epochs = 3;
  // Samples per micro-batch and micro-batches per update: an optimizer step sees
  // batch * grad_accum samples, its loss the mean over all their target tokens. Samples are not
  // padded together: the micro-batch's samples run one after the other.
  int batch = 2;
  int grad_accum = 8;
  std::int64_t max_len = 10240;  // longer samples are skipped (counted); 0: no limit
  double warmup = 0.01;          // fraction of the optimizer steps
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double clip = 1.0;  // global gradient norm; 0: no clipping
  std::uint64_t seed = 0;
  bool grad_checkpointing = false;
  // Each micro-batch's samples as one sequence holding their shared beginning (the system prompt)
  // once (shared_prefix_loss): the same loss for far fewer tokens; activations of the whole
  // micro-batch at once.
  bool share_prefix = false;
  int save_every = 0;  // optimizer steps between checkpoints (0: only at the end)
  bool resume = false;
  std::string dtype = "bf16";  // compute dtype of the frozen base: bf16, f32
  std::string device = "cpu";
  std::int64_t max_steps = 0;  // stop (with a checkpoint) after this many steps; 0: run to the end
};

// The options that decide the numbers (what a resumed run must share with the first one).
core::Json to_json(const TrainOptions& options);

}  // namespace mat::train

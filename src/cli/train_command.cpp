#include "train_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "mat/core/error.h"
#include "mat/core/heap_reuse.h"
#include "mat/core/interrupt.h"
#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/tokenizer.h"
#include "mat/train/lora_trainer.h"
#include "mat/train/merge.h"
#include "training_data_flags.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;

struct TrainSettings {
  TrainingDataSettings data;
  std::string eval_data;
  train::TrainOptions options;
  std::string base;
  std::string out;
  std::string targets = "q_proj,k_proj,v_proj";
  bool merge = false;
  std::string lora;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  }
  return buf;
}

// "step 12/300  loss 1.2345  lr 1.00e-05  812 tok/s  ETA 3m12s", rewritten in place.
train::StepObserver progress_line() {
  const auto started = std::chrono::steady_clock::now();
  auto first_step = std::make_shared<std::int64_t>(-1);
  return [started, first_step](const train::StepRecord& r, std::int64_t total) {
    if (*first_step < 0) *first_step = r.step - 1;  // a resumed run's steps before this one
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double per_step = elapsed / static_cast<double>(r.step - *first_step);
    char line[160];
    std::snprintf(line, sizeof line, "\rstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s",
                  static_cast<long long>(r.step), static_cast<long long>(total), r.loss, r.lr,
                  r.tokens_per_s, duration(per_step * static_cast<double>(total - r.step)).c_str());
    std::cerr << line;
    if (r.eval_loss) std::cerr << "  eval " << *r.eval_loss << "\n";
    if (r.step == total) std::cerr << "\n";
    std::cerr << std::flush;
  };
}

int merge(const TrainSettings& s) {
  if (s.lora.empty()) {
    std::cerr << "mat train --merge: pass the adapter folder with --lora DIR\n";
    return 2;
  }
  train::write_merged_model(s.base, s.lora, s.out);
  std::cout << s.out << "\n";
  return 0;
}

int train_run(TrainSettings s) {
  core::keep_freed_memory_for_reuse();  // every step reallocates the same large tensors
  if (s.data.data.empty()) {
    std::cerr << "mat train: pass the training data with --data FILE|DIR\n";
    return 2;
  }
  s.options.base = s.base;
  s.options.out = s.out;
  s.options.lora.targets = split_commas(s.targets);
  s.options.max_len = s.data.max_len;
  const train::DataOptions data_opts = data_options(s.data);
  const engine::Tokenizer tokenizer = engine::Tokenizer::load(fs::path(s.base) / "tokenizer.json");
  engine::ImageProcessorConfig images;
  if (const fs::path processor = fs::path(s.base) / "preprocessor_config.json";
      fs::exists(processor)) {
    images = engine::load_image_processor_config(processor);
  }
  const train::SampleEncoder encoder(tokenizer, images);
  train::DataReport report;
  const std::vector<train::Sample> samples =
      train::load_samples(s.data.data, data_opts, encoder, report);
  std::cerr << "mat train: " << report.summary(data_opts.max_len) << "\n";
  std::vector<train::Sample> eval;
  if (!s.eval_data.empty()) {
    train::DataReport eval_report;
    eval = train::load_samples(s.eval_data, data_opts, encoder, eval_report);
    std::cerr << "mat train: eval " << eval_report.summary(data_opts.max_len) << "\n";
  }
  core::install_interrupt_handlers();
  const train::TrainResult result = train::fine_tune(s.options, samples, eval, progress_line());
  if (result.interrupted) {
    std::cerr << "\nmat train: interrupted after step " << result.log.size() << "; checkpoint in "
              << (fs::path(s.out) / "checkpoint").string() << " (continue with --resume)\n";
    return 1;
  }
  std::cout << s.out << "\n";
  return 0;
}

int run(const TrainSettings& s) {
  try {
    return s.merge ? merge(s) : train_run(s);
  } catch (const core::Error& e) {
    std::cerr << "\nmat train: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_train_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<TrainSettings>();
  train::TrainOptions& o = s->options;
  CLI::App* cmd = app.add_subcommand(
      "train",
      "LoRA fine-tuning of the local Qwen2-VL on trajectories (PEFT adapter, train_log.jsonl, "
      "loss.svg, checkpoints); with --full, every language-model weight (a whole checkpoint); "
      "with --merge, an adapter folded into a full checkpoint");
  s->data.max_len = o.max_len;
  add_training_data_flags(*cmd, s->data);
  cmd->get_option("--data")->required(false);  // not for --merge; checked in train_run
  cmd->add_option("--base", s->base, "The base model folder (Hugging Face checkpoint)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", s->out, "The output folder")->required();
  cmd->add_option("--eval-data", s->eval_data, "Held-out trajectories: eval loss at checkpoints");
  CLI::Option* full = cmd->add_flag(
      "--full", o.full,
      "Full-parameter fine-tuning instead of LoRA: every language-model weight trains (f32; the "
      "vision tower stays frozen) and --out is a whole checkpoint. For tiny controllers");
  for (CLI::Option* lora_only :
       {cmd->add_option("--rank", o.lora.rank, "LoRA rank")->capture_default_str(),
        cmd->add_option("--alpha", o.lora.alpha, "LoRA alpha (scale = alpha / rank)")
            ->capture_default_str(),
        cmd->add_option("--dropout", o.lora.dropout, "LoRA dropout")->capture_default_str(),
        cmd->add_option("--targets", s->targets, "Comma-separated decoder projections to adapt")
            ->capture_default_str()}) {
    lora_only->excludes(full);
  }
  cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--epochs", o.epochs)->capture_default_str();
  cmd->add_option("--batch", o.batch, "Samples per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", o.grad_accum, "Micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Warmup, as a fraction of the steps")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay)->capture_default_str();
  cmd->add_option("--beta2", o.beta2, "AdamW beta2")->capture_default_str();
  cmd->add_option("--clip", o.clip, "Global gradient norm limit (0: none)")->capture_default_str();
  cmd->add_option("--seed", o.seed)->capture_default_str();
  cmd->add_flag("--grad-checkpointing", o.grad_checkpointing,
                "Recompute each decoder layer in backward (long samples in less memory)");
  cmd->add_flag("--share-prefix", o.share_prefix,
                "Run each micro-batch (--batch samples) as one sequence that holds their common "
                "beginning, the system prompt, once: the same loss for far fewer tokens when "
                "prompts are long and answers short (activation memory grows with --batch)");
  cmd->add_option("--save-every", o.save_every, "Steps between checkpoints (0: at the end only)")
      ->capture_default_str();
  cmd->add_flag("--resume", o.resume, "Continue from OUT/checkpoint with the same flags");
  CLI::Option* dtype =
      cmd->add_option("--dtype", o.dtype, "Compute dtype of the frozen base (--full: f32)")
          ->check(CLI::IsMember({"bf16", "f32"}))
          ->capture_default_str();
  cmd->add_option("--device", o.device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_flag("--merge", s->merge, "Fold --lora into --base and write a full checkpoint to --out")
      ->excludes(full);
  cmd->add_option("--lora", s->lora, "The adapter folder to merge")->check(CLI::ExistingDirectory);
  cmd->callback([s, dtype, &exit_code] {
    if (s->options.full && dtype->count() == 0) s->options.dtype = "f32";
    exit_code = run(*s);
  });
}

}  // namespace mat::cli

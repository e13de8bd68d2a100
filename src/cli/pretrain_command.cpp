#include "pretrain_command.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/core/heap_reuse.h"
#include "mat/core/interrupt.h"
#include "mat/train/pretrainer.h"

namespace mat::cli {
namespace {

struct PretrainSettings {
  train::PretrainOptions options;
  std::vector<std::string> corpus;
  std::string model;
  std::string out;
};

// "step 40/212  loss 4.8123  lr 9.87e-04  3120 tok/s  163840 tokens  1m52s left", in place.
void show_step(const train::StepRecord& r, const train::PretrainProgress& p) {
  const auto left = static_cast<long>(p.remaining_s);
  char line[160];
  std::snprintf(line, sizeof line,
                "\rstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  %lld tokens  %ldm%02lds left ",
                static_cast<long long>(r.step), static_cast<long long>(p.total_steps), r.loss, r.lr,
                r.tokens_per_s, static_cast<long long>(p.tokens_seen), left / 60, left % 60);
  std::cerr << line << std::flush;
}

int run(PretrainSettings s) {
  core::keep_freed_memory_for_reuse();  // every step reallocates the same large tensors
  try {
    s.options.model = s.model;
    s.options.out = s.out;
    s.options.corpus.assign(s.corpus.begin(), s.corpus.end());
    core::install_interrupt_handlers();
    const train::PretrainResult r = train::pretrain(s.options, show_step);
    std::cerr << "\nmat pretrain: " << r.log.size() << " steps, " << r.tokens_seen
              << " tokens seen (the corpus: " << r.corpus_tokens << " tokens in " << r.corpus_files
              << " files) in " << static_cast<long>(r.seconds) << " s, "
              << (r.seconds > 0 ? static_cast<double>(r.tokens_seen) / r.seconds : 0)
              << " tokens/s; probe loss " << r.probe_loss_before << " -> " << r.probe_loss_after
              << (r.interrupted ? " (interrupted: the weights so far were written)" : "") << "\n";
    std::cout << s.out << "\n";
    return r.interrupted ? 1 : 0;
  } catch (const core::Error& e) {
    std::cerr << "\nmat pretrain: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_pretrain_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<PretrainSettings>();
  train::PretrainOptions& o = s->options;
  CLI::App* cmd = app.add_subcommand(
      "pretrain",
      "Causal-LM pretraining of a Qwen2-VL checkpoint's language model on text files (all "
      "weights but the vision tower, f32); writes the trained checkpoint, train_log.jsonl, "
      "loss.svg");
  cmd->add_option("--model", s->model, "The checkpoint folder to start from (`mat model init`)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--corpus", s->corpus, "Text files or folders of them (repeatable)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--out", s->out, "The output checkpoint folder")->required();
  cmd->add_option("--minutes", o.minutes, "Time budget; the run stops before it is spent")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--steps", o.steps, "Optimizer steps (deterministic given --seed)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-bytes", o.max_corpus_bytes, "Read at most this much corpus text")
      ->capture_default_str();
  cmd->add_option("--seq-len", o.seq_len, "Tokens per window")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Windows per optimizer step")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Warmup, as a fraction of the steps")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay)->capture_default_str();
  cmd->add_option("--clip", o.clip, "Global gradient norm limit (0: none)")->capture_default_str();
  cmd->add_option("--seed", o.seed)->capture_default_str();
  cmd->add_flag("--grad-checkpointing", o.grad_checkpointing,
                "Recompute each decoder layer in backward (long windows in less memory)");
  cmd->callback([s, &exit_code] { exit_code = run(*s); });
}

}  // namespace mat::cli

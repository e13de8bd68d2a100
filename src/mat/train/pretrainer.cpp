#include "mat/train/pretrainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/text_corpus.h"
#include "mat/engine/tokenizer.h"
#include "mat/train/adamw.h"
#include "mat/train/causal_lm_loss.h"
#include "mat/train/language_model_weights.h"
#include "mat/train/lr_schedule.h"
#include "mat/train/model_writer.h"

namespace mat::train {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void check_options(const PretrainOptions& o) {
  const auto fail = [](const std::string& why) { throw core::Error("mat pretrain: " + why); };
  if (o.corpus.empty()) fail("pass the text to train on with --corpus PATH (files or folders)");
  if (!(o.minutes > 0) && o.steps <= 0) fail("pass a time budget (--minutes) or --steps");
  if (o.seq_len < 8) fail("--seq-len must be at least 8");
  if (o.batch < 1) fail("--batch must be at least 1");
  if (!(o.lr > 0)) fail("--lr must be positive");
  if (o.warmup < 0 || o.warmup > 1) fail("--warmup is a fraction of the steps, in [0, 1]");
  if (fs::exists(o.out) && fs::exists(o.model) && fs::equivalent(o.out, o.model)) {
    fail("--out " + o.out.string() + " is the --model folder; write to a new folder");
  }
}

struct Corpus {
  std::vector<std::int32_t> tokens;  // every document, each followed by <|endoftext|>
  std::size_t files = 0;
};

Corpus read_corpus(const PretrainOptions& o, const engine::Tokenizer& tokenizer) {
  const auto end_of_text = tokenizer.token_to_id("<|endoftext|>");
  if (!end_of_text) {
    throw core::Error("mat pretrain: the tokenizer of " + o.model.string() +
                      " has no <|endoftext|> token to separate documents; make the model with "
                      "`mat model init`");
  }
  Corpus corpus;
  engine::CorpusOptions read;
  read.max_bytes = o.max_corpus_bytes;
  corpus.files =
      engine::for_each_corpus_text(o.corpus, read, [&](const fs::path&, std::string_view text) {
        const std::vector<std::int32_t> ids = tokenizer.encode(text);
        corpus.tokens.insert(corpus.tokens.end(), ids.begin(), ids.end());
        corpus.tokens.push_back(*end_of_text);
      }).files;
  return corpus;
}

// The windows of the corpus in the order training visits them: epoch after epoch, each a seeded
// shuffle of all windows.
class WindowOrder {
 public:
  WindowOrder(std::int64_t windows, std::uint64_t seed) : windows_(windows), seed_(seed) {}

  std::int64_t at(std::int64_t visit) {
    const std::int64_t epoch = visit / windows_;
    if (epoch != epoch_) {
      order_.resize(static_cast<std::size_t>(windows_));
      std::iota(order_.begin(), order_.end(), std::int64_t{0});
      std::mt19937_64 rng(seed_ ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(epoch + 1)));
      std::shuffle(order_.begin(), order_.end(), rng);
      epoch_ = epoch;
    }
    return order_[static_cast<std::size_t>(visit % windows_)];
  }

 private:
  std::int64_t windows_;
  std::uint64_t seed_;
  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> order_;
};

torch::Tensor window_batch(const std::vector<std::int32_t>& tokens,
                           const std::vector<std::int64_t>& windows, std::int64_t seq_len) {
  torch::Tensor ids =
      torch::empty({static_cast<std::int64_t>(windows.size()), seq_len}, torch::kInt64);
  auto rows = ids.accessor<std::int64_t, 2>();
  for (std::size_t b = 0; b < windows.size(); ++b) {
    const std::int32_t* from = tokens.data() + windows[b] * seq_len;
    for (std::int64_t i = 0; i < seq_len; ++i) rows[static_cast<std::int64_t>(b)][i] = from[i];
  }
  return ids;
}

double probe_loss(engine::Qwen2VLModelImpl& model, const torch::Tensor& probe) {
  torch::NoGradGuard no_grad;
  model.eval();
  const double loss = causal_lm_loss(model, probe).item<double>();
  model.train();
  return loss;
}

}  // namespace

core::Json to_json(const PretrainOptions& o) {
  core::Json corpus = core::Json::array();
  for (const fs::path& p : o.corpus) corpus.push_back(p.string());
  return {{"model", o.model.string()},
          {"corpus", corpus},
          {"max_corpus_bytes", o.max_corpus_bytes},
          {"minutes", o.minutes},
          {"steps", o.steps},
          {"seq_len", o.seq_len},
          {"batch", o.batch},
          {"lr", o.lr},
          {"warmup", o.warmup},
          {"weight_decay", o.weight_decay},
          {"clip", o.clip},
          {"seed", o.seed},
          {"grad_checkpointing", o.grad_checkpointing}};
}

PretrainResult pretrain(const PretrainOptions& o, const PretrainObserver& on_step) {
  check_options(o);
  const engine::Tokenizer tokenizer = engine::Tokenizer::load(o.model / "tokenizer.json");
  const Corpus corpus = read_corpus(o, tokenizer);
  const auto windows = static_cast<std::int64_t>(corpus.tokens.size()) / o.seq_len;
  if (windows < 1) {
    throw core::Error("mat pretrain: the corpus holds " + std::to_string(corpus.tokens.size()) +
                      " tokens, fewer than one window of --seq-len " + std::to_string(o.seq_len) +
                      "; add text or shorten the windows");
  }

  torch::manual_seed(o.seed);
  engine::Qwen2VLModel model = engine::load_qwen2vl_model(o.model, {torch::kFloat32, torch::kCPU});
  const std::int64_t vocab = model->config().text.vocab_size;
  if (static_cast<std::int64_t>(tokenizer.vocab_size()) > vocab) {
    throw core::Error("mat pretrain: the tokenizer of " + o.model.string() + " has " +
                      std::to_string(tokenizer.vocab_size()) + " ids but the model only " +
                      std::to_string(vocab) + " embeddings; they belong to different models");
  }
  const std::map<std::string, torch::Tensor> params = train_language_model_weights(*model);
  AdamW optimizer(params, {0.9, 0.95, 1e-8, o.weight_decay});
  model->train();

  PretrainResult result;
  result.corpus_tokens = windows * o.seq_len;
  result.corpus_files = corpus.files;
  std::vector<std::int64_t> probe_windows(static_cast<std::size_t>(std::min(o.batch, windows)));
  std::iota(probe_windows.begin(), probe_windows.end(), std::int64_t{0});
  const torch::Tensor probe = window_batch(corpus.tokens, probe_windows, o.seq_len);
  result.probe_loss_before = probe_loss(*model, probe);

  const bool timed = o.minutes > 0;
  const double budget_s = o.minutes * 60;
  WindowOrder order(windows, o.seed);
  PretrainProgress progress;
  progress.total_steps = o.steps > 0 ? o.steps : 1000;  // with --minutes: re-estimated per step
  const auto started = Clock::now();
  double first_step_s = 0;
  std::int64_t step = 0;
  fs::create_directories(o.out);
  copy_model_files(o.model, o.out);  // before the log: a pretrained input's log is replaced
  const fs::path log_path = o.out / "train_log.jsonl";
  write_train_log(log_path, {});
  while (true) {
    const auto step_started = Clock::now();
    std::vector<std::int64_t> batch(static_cast<std::size_t>(o.batch));
    for (std::int64_t b = 0; b < o.batch; ++b) {
      batch[static_cast<std::size_t>(b)] = order.at(step * o.batch + b);
    }
    const torch::Tensor loss =
        causal_lm_loss(*model, window_batch(corpus.tokens, batch, o.seq_len), o.grad_checkpointing);
    loss.backward();
    StepRecord record;
    record.step = step + 1;
    record.loss = loss.item<double>();
    record.grad_norm = optimizer.clip_grad_norm(o.clip);
    const LrSchedule schedule{o.lr,
                              static_cast<std::int64_t>(std::ceil(o.warmup * progress.total_steps)),
                              progress.total_steps};
    record.lr = schedule.at(step);
    optimizer.step(record.lr);
    optimizer.zero_grad();
    ++step;
    const double step_s = std::chrono::duration<double>(Clock::now() - step_started).count();
    const std::int64_t tokens = o.batch * o.seq_len;
    record.tokens_per_s = step_s > 0 ? static_cast<double>(tokens) / step_s : 0;
    result.tokens_seen += tokens;

    progress.tokens_seen = result.tokens_seen;
    progress.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    if (step == 1) first_step_s = progress.elapsed_s;
    // The first step pays for allocations: later steps predict the rest better.
    const double per_step =
        step > 1 ? (progress.elapsed_s - first_step_s) / static_cast<double>(step - 1)
                 : first_step_s;
    if (timed) {
      const auto affordable =
          static_cast<std::int64_t>(std::floor((budget_s - progress.elapsed_s) / per_step));
      progress.total_steps = step + std::max<std::int64_t>(0, affordable);
      if (o.steps > 0) progress.total_steps = std::min(progress.total_steps, o.steps);
    }
    progress.remaining_s = per_step * static_cast<double>(progress.total_steps - step);
    result.log.push_back(record);
    append_train_log(log_path, record);
    if (on_step) on_step(record, progress);
    if (step >= progress.total_steps) break;
    if (core::interrupt_requested()) {
      result.interrupted = true;
      break;
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  result.probe_loss_after = probe_loss(*model, probe);

  write_model_weights(*model, o.out / "model.safetensors", checkpoint_format(o.model));
  std::ofstream(o.out / "loss.svg") << loss_chart_svg(result.log);
  core::write_json_file(o.out / "pretrain_config.json",
                        {{"options", to_json(o)},
                         {"steps", step},
                         {"tokens_seen", result.tokens_seen},
                         {"corpus_tokens", result.corpus_tokens},
                         {"corpus_files", result.corpus_files},
                         {"seconds", result.seconds},
                         {"probe_loss_before", result.probe_loss_before},
                         {"probe_loss_after", result.probe_loss_after},
                         {"interrupted", result.interrupted}});
  return result;
}

}  // namespace mat::train

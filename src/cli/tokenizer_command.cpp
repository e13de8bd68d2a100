#include "tokenizer_command.h"

#include <chrono>
#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/text_corpus.h"
#include "mat/engine/tokenizer_trainer.h"

namespace mat::cli {
namespace {

struct TokenizerTrainSettings {
  std::vector<std::string> corpus;
  std::size_t vocab_size = 8192;
  std::size_t max_bytes = 8u << 20;
  std::int64_t min_count = 2;
  std::string out;
};

int train(const TokenizerTrainSettings& s) {
  try {
    const auto started = std::chrono::steady_clock::now();
    engine::BpeTrainer trainer({s.vocab_size, s.min_count});
    engine::CorpusOptions read;
    read.max_bytes = s.max_bytes;
    const engine::CorpusStats stats = engine::for_each_corpus_text(
        {s.corpus.begin(), s.corpus.end()}, read,
        [&](const std::filesystem::path&, std::string_view text) { trainer.add_text(text); });
    trainer.train();
    core::write_json_file(s.out, trainer.tokenizer_json());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "mat tokenizer train: " << stats.files << " files (" << stats.bytes << " bytes; "
              << stats.skipped << " not text), " << trainer.distinct_words() << " distinct words, "
              << trainer.merges() << " merges, vocabulary " << trainer.vocab_size() << " in "
              << seconds << " s\n";
    std::cout << s.out << "\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "mat tokenizer train: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_tokenizer_command(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("tokenizer", "Tokenizers for the local engine");
  group->require_subcommand(1);
  auto s = std::make_shared<TokenizerTrainSettings>();
  CLI::App* cmd = group->add_subcommand(
      "train",
      "Train a byte-level BPE tokenizer (Qwen2's pre-tokenizer, Qwen2-VL's special tokens) on "
      "text files; writes a Hugging Face tokenizer.json");
  cmd->add_option("--corpus", s->corpus, "Text files or folders of them (repeatable)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--vocab-size", s->vocab_size,
                  "Every id: 256 bytes, the merges and 14 special tokens")
      ->capture_default_str()
      ->check(CLI::Range(1024, 1 << 20));
  cmd->add_option("--max-bytes", s->max_bytes, "Read at most this much text")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--min-count", s->min_count, "Merge only pairs seen this often")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", s->out, "The tokenizer.json to write")->required();
  cmd->callback([s, &exit_code] { exit_code = train(*s); });
}

}  // namespace mat::cli

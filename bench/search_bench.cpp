// Query latency of the offline search corpus (`web_search`): 10,000 synthetic documents, built
// once through build_corpus from files on disk, then searched the three ways a query can go: one
// word, all words (AND) and no document with all words (the OR fallback, two searches).
//
//   build/bench/search_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mat/core/temp_dir.h"
#include "mat/tools/search_corpus.h"

namespace {

namespace fs = std::filesystem;
using mat::tools::SearchCorpus;

constexpr int kDocuments = 10'000;
constexpr int kWordsPerDocument = 200;
constexpr int kResults = 10;

// 2,744 made-up words ("bababa" ... "zuzuzu"), the same on every machine.
std::vector<std::string> vocabulary() {
  const char* syllables[] = {"ba", "ke", "lo", "mi", "ru", "tu", "sa",
                             "no", "pe", "di", "go", "ha", "ve", "zu"};
  std::vector<std::string> words;
  for (const char* a : syllables) {
    for (const char* b : syllables) {
      for (const char* c : syllables) words.push_back(std::string(a) + b + c);
    }
  }
  return words;
}

// Words drawn with a skew towards the start of the vocabulary, as in real text: a few words are
// in most documents, most words in a few. Raw mt19937 output (not a std distribution), so the
// corpus is the same with every standard library.
class WordSource {
 public:
  std::string next() {
    uint64_t n = words_.size();
    return words_[(random_() % n) * (random_() % n) / n];
  }

 private:
  std::vector<std::string> words_ = vocabulary();
  std::mt19937 random_{20250101};
};

class Corpus {
 public:
  Corpus() {
    WordSource words;
    fs::path docs = dir_.path() / "docs";
    fs::create_directory(docs);
    for (int i = 0; i < kDocuments; ++i) {
      std::ofstream file(docs / ("doc" + std::to_string(i) + ".md"));
      file << "# " << words.next() << ' ' << words.next() << ' ' << words.next() << "\n\n";
      for (int w = 0; w < kWordsPerDocument; ++w) file << words.next() << ' ';
    }
    mat::tools::build_corpus(docs, dir_.path() / "corpus.db");
  }
  SearchCorpus open() const { return SearchCorpus::open(dir_.path() / "corpus.db"); }

 private:
  mat::core::TempDir dir_{"mat-search-bench"};
};

// Built on first use and kept for every benchmark: the build is not what is measured.
const Corpus& corpus() {
  static const Corpus instance;
  return instance;
}

void run_queries(benchmark::State& state, const std::vector<std::string>& queries) {
  SearchCorpus search = corpus().open();
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += search.search(queries[i++ % queries.size()], kResults).size();
  }
  state.counters["hits/query"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations());
}

// Rarer words (later in the vocabulary): a common word matches most of the corpus, which is
// what makes ranking costly.
void BM_OneWord(benchmark::State& state) {
  run_queries(state, {"tusano", "mirutu", "sanope", "gohave", "dibaru", "zulomi"});
}
BENCHMARK(BM_OneWord)->Unit(benchmark::kMicrosecond);

void BM_CommonWord(benchmark::State& state) {
  run_queries(state, {"bababa", "babake", "bakeba"});
}
BENCHMARK(BM_CommonWord)->Unit(benchmark::kMicrosecond);

void BM_AllWords(benchmark::State& state) {
  run_queries(state, {"bababa babake", "babalo bakeke", "bakeba babami babaru"});
}
BENCHMARK(BM_AllWords)->Unit(benchmark::kMicrosecond);

// Words no document has together, so AND finds nothing and the OR search runs as well.
void BM_OrFallback(benchmark::State& state) {
  run_queries(state, {"zuzuzu veveve hahaha", "zuzuve vezuzu hazuzu"});
}
BENCHMARK(BM_OrFallback)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

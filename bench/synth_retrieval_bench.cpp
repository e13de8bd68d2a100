// Nearest-caption retrieval of the synth image pool (synth/vector_index.h) at the size of the
// paper's pool (~93K captions, here 100K): the index's build time and memory, and the latency of
// one query, at the dimensions of common embedding models (768: BGE/nomic; 1536: OpenAI's
// text-embedding-3-small). The vectors are random unit vectors, the worst case for an inverted-
// file index (no clusters to exploit); queries are stored vectors moved by a little noise, as a
// description is near its caption, and `found` is the share of them whose own vector came back.
//
//   build/bench/synth_retrieval_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "mat/synth/vector_index.h"

namespace {

using mat::synth::VectorIndex;

constexpr size_t kCaptions = 100'000;
constexpr size_t kQueries = 1'000;
constexpr float kNoise = 0.3f;  // per-vector noise norm, relative: cosine ~0.95 to the original

std::vector<float> random_unit_vectors(size_t count, size_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> vectors(count * dim);
  for (float& x : vectors) x = normal(rng);
  for (size_t i = 0; i < count; ++i) {
    mat::synth::normalise(std::span<float>(vectors.data() + i * dim, dim));
  }
  return vectors;
}

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

struct Built {
  std::unique_ptr<VectorIndex> index;
  std::vector<float> queries;  // kQueries noisy copies of vectors 0, 100, 200, ...
  double build_s = 0;
  double memory_mb = 0;  // resident memory the index added
};

// One index per dimension, built on first use and kept for the query benchmarks.
Built& built(size_t dim) {
  static std::map<size_t, Built> cache;
  Built& entry = cache[dim];
  if (entry.index) return entry;
  std::vector<float> vectors = random_unit_vectors(kCaptions, dim, dim);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> noise(0, kNoise / std::sqrt(static_cast<float>(dim)));
  const size_t stride = kCaptions / kQueries;
  for (size_t q = 0; q < kQueries; ++q) {
    for (size_t d = 0; d < dim; ++d)
      entry.queries.push_back(vectors[q * stride * dim + d] + noise(rng));
  }
  // The index gets a copy, made and freed inside the measured span: what stays is the index.
  const double before = resident_mb();
  const auto start = std::chrono::steady_clock::now();
  entry.index = std::make_unique<VectorIndex>(VectorIndex::build(vectors, dim));
  entry.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  entry.memory_mb = resident_mb() - before;
  return entry;
}

void BM_BuildIndex(benchmark::State& state) {
  const auto dim = static_cast<size_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(built(dim).index.get());
  state.counters["build_s"] = built(dim).build_s;
  state.counters["index_mb"] = built(dim).memory_mb;
  state.counters["exact"] = built(dim).index->exact() ? 1 : 0;
}
BENCHMARK(BM_BuildIndex)->Arg(768)->Arg(1536)->Iterations(1)->Unit(benchmark::kSecond);

void BM_NearestCaption(benchmark::State& state) {
  const auto dim = static_cast<size_t>(state.range(0));
  const Built& index = built(dim);
  const size_t stride = kCaptions / kQueries;
  size_t q = 0, asked = 0, found = 0;
  for (auto _ : state) {
    const std::span<const float> query(index.queries.data() + q * dim, dim);
    const auto hit = index.index->nearest(query);
    found += hit && hit->id == static_cast<std::int64_t>(q * stride) ? 1 : 0;
    ++asked;
    q = (q + 1) % kQueries;
  }
  state.counters["found"] = static_cast<double>(found) / static_cast<double>(asked);
}
BENCHMARK(BM_NearestCaption)->Arg(768)->Arg(1536)->Unit(benchmark::kMillisecond);

// The same search over every vector (what the index avoids): the reason for the inverted file.
void BM_ExactSearch(benchmark::State& state) {
  const auto dim = static_cast<size_t>(state.range(0));
  static std::map<size_t, std::unique_ptr<VectorIndex>> exact;
  auto& index = exact[dim];
  if (!index) {
    index = std::make_unique<VectorIndex>(dim);
    index->add(random_unit_vectors(kCaptions, dim, dim));
  }
  const std::vector<float> query = random_unit_vectors(1, dim, 99);
  for (auto _ : state) benchmark::DoNotOptimize(index->nearest(query));
}
BENCHMARK(BM_ExactSearch)->Arg(768)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

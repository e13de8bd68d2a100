// LoRA training speed and memory of mat's trainer (src/mat/train) on a fixed small Qwen2-VL
// decoder, randomly initialised in memory (no checkpoint on disk): hidden 512, 4 layers, 4 heads
// (2 KV heads), MLP 1376, vocabulary 8192; LoRA rank 16 on q/k/v/o; one text sample of 512
// tokens, its second half the target. One iteration = one optimizer step (forward, backward,
// AdamW), as the trainer runs it.
//
// Counters:
//   tok/s      sample tokens per second of training;
//   matmul     the rate of a [512 x 512] @ [512 x 1376] matmul, same run, on the path the trainer
//              takes: the dtype's own, except bf16 on CPUs without AVX-512 BF16, which the
//              engine's dense() multiplies in f32 (cpu_linear.h), so the f32 rate;
//   MFU        6 * N * tok/s / matmul, N = the decoder layers' parameters (embeddings and head
//              excluded: the head runs only at the 256 target positions). The 6 is the usual
//              full-training convention; with frozen base weights the backward pass skips the
//              weight gradients, so the work actually done is nearer 4 * N per token.
//   peak_MB    (BM_PeakMemory) the maximum RSS of a child process that runs one step on a
//              4096-token sample, with and without activation checkpointing.
//
// The reference (transformers + PEFT on CPU, the same config and sample) is
// tools/golden/train_speed.py; run both and compare tok/s.
//
//   OPENBLAS_NUM_THREADS=1 build/bench/train_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "mat/engine/qwen2vl_model.h"
#include "mat/train/adamw.h"
#include "mat/train/lora_setup.h"
#include "mat/train/sample_loss.h"

namespace {

using namespace mat;

constexpr std::int64_t kHidden = 512, kInter = 1376, kVocab = 8192;
constexpr int kLayers = 4;

engine::Qwen2VLConfig bench_config() {
  engine::Qwen2VLConfig c;
  c.text = {};
  c.text.vocab_size = kVocab;
  c.text.hidden_size = kHidden;
  c.text.intermediate_size = kInter;
  c.text.num_hidden_layers = kLayers;
  c.text.num_attention_heads = 4;
  c.text.num_key_value_heads = 2;
  c.text.head_dim = 128;
  c.text.mrope_section = {16, 24, 24};
  c.vision.depth = 1;
  c.vision.embed_dim = 32;
  c.vision.hidden_size = kHidden;
  c.vision.num_heads = 2;
  c.image_token_id = kVocab - 1;
  return c;
}

struct Setup {
  engine::Qwen2VLModel model{nullptr};
  std::vector<train::LoraModule> modules;
  std::unique_ptr<train::AdamW> optimizer;
  std::int64_t decoder_params = 0;
};

Setup make_setup(torch::Dtype dtype) {
  torch::manual_seed(0);
  Setup s;
  s.model = engine::Qwen2VLModel(bench_config(), engine::ModelOptions{dtype, torch::kCPU});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : s.model->parameters()) p.normal_(0, 0.02);
  }
  for (const auto& p : s.model->language_model->layers->parameters()) s.decoder_params += p.numel();
  s.modules = train::attach_lora(*s.model, {.rank = 16,
                                            .alpha = 32,
                                            .dropout = 0.0,
                                            .targets = {"q_proj", "k_proj", "v_proj", "o_proj"}});
  s.optimizer = std::make_unique<train::AdamW>(train::peft_tensors(s.modules),
                                               train::AdamWOptions{0.9, 0.95, 1e-8, 0.1});
  s.model->train();
  return s;
}

train::Sample text_sample(int length) {
  train::Sample s;
  s.id = "bench";
  for (int i = 0; i < length; ++i) {
    s.ids.push_back((i * 7919) % (kVocab - 16));
    s.is_target.push_back(i >= length / 2 ? 1 : 0);
  }
  return s;
}

void train_step(Setup& s, const train::Sample& sample, bool checkpointing) {
  const train::LossSum loss = train::sample_loss(*s.model, sample, checkpointing);
  (loss.sum / static_cast<double>(loss.tokens)).backward();
  s.optimizer->step(1e-4);
  s.optimizer->zero_grad();
}

double matmul_rate(torch::Dtype dtype) {
  __builtin_cpu_init();
  if (dtype == torch::kBFloat16 && !__builtin_cpu_supports("avx512bf16")) dtype = torch::kFloat32;
  const torch::Tensor a = torch::randn({512, kHidden}).to(dtype);
  const torch::Tensor b = torch::randn({kHidden, kInter}).to(dtype);
  torch::Tensor c = torch::matmul(a, b);  // warm-up
  const int reps = 50;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = torch::matmul(a, b);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * 512 * kHidden * kInter * reps / seconds;
}

void BM_TrainStep(benchmark::State& state) {
  const torch::Dtype dtype = state.range(0) == 16 ? torch::kBFloat16 : torch::kFloat32;
  Setup s = make_setup(dtype);
  const train::Sample sample = text_sample(512);
  train_step(s, sample, false);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) train_step(s, sample, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tokens_per_s = 512.0 * static_cast<double>(state.iterations()) / seconds;
  const double rate = matmul_rate(dtype);
  state.counters["tok/s"] = tokens_per_s;
  state.counters["matmul_GFLOP/s"] = rate / 1e9;
  state.counters["MFU_%"] =
      100.0 * 6.0 * static_cast<double>(s.decoder_params) * tokens_per_s / rate;
  state.SetLabel(dtype == torch::kBFloat16 ? "bf16" : "f32");
}
BENCHMARK(BM_TrainStep)->Arg(16)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// One step on a 4096-token sample in a child process (this program, MAT_TRAIN_BENCH_PROBE set):
// its maximum RSS is the step's peak, undisturbed by the other benchmarks' allocations.
void BM_PeakMemory(benchmark::State& state) {
  const bool checkpointing = state.range(0) != 0;
  double peak_mb = 0;
  for (auto _ : state) {
    // This program's own path: in the shell popen starts, /proc/self/exe is the shell.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string command = std::string("MAT_TRAIN_BENCH_PROBE=") +
                                (checkpointing ? "ckpt" : "plain") + " '" + self + "'";
    FILE* child = popen(command.c_str(), "r");
    if (child == nullptr || std::fscanf(child, "%lf", &peak_mb) != 1) {
      state.SkipWithError("the memory probe did not report");
    }
    if (child != nullptr) pclose(child);
  }
  state.counters["peak_MB"] = peak_mb;
  state.SetLabel(checkpointing ? "bf16 4096 tokens, checkpointing" : "bf16 4096 tokens");
}
BENCHMARK(BM_PeakMemory)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

int memory_probe(const char* mode) {
  Setup s = make_setup(torch::kBFloat16);
  train_step(s, text_sample(4096), std::strcmp(mode, "ckpt") == 0);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%.1f\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* mode = std::getenv("MAT_TRAIN_BENCH_PROBE")) return memory_probe(mode);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

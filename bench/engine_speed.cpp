// The local engine's speed on one checkpoint, with the machine's rooflines measured in the same
// process: prefill tokens/s for a long prompt, decode tokens/s at batch 1 (and for a batch), peak
// memory, the matmul rate of the model's dtype and the read bandwidth. Prints one JSON object;
// bench/engine_compare.py runs it beside llama.cpp and transformers on the same weights.
//
//   OPENBLAS_NUM_THREADS=1 build/bench/engine_speed --weights DIR --dtype bf16 --prompt 1024
//       --decode 64 [--batch 4] [--threads 2] [--repeat 3]
#include <sys/resource.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "mat/core/json.h"
#include "mat/engine/generator.h"
#include "mat/engine/local_engine.h"
#include "mat/engine/qwen2vl_model.h"

namespace {

using mat::engine::GenerationRequest;
using mat::engine::GenerationResult;
using mat::engine::LocalEngine;
using mat::engine::PromptInput;
using mat::engine::SamplingParams;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double median_seconds(int repeat, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    const auto start = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return median(t);
}

// Ordinary text tokens (below the special ids), fixed by the seed.
PromptInput random_prompt(const LocalEngine& engine, std::int64_t length, unsigned seed) {
  const std::int64_t ordinary = std::min<std::int64_t>(engine.config().image_token_id, 150000);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> token(0, static_cast<std::int32_t>(ordinary) - 1);
  PromptInput prompt;
  for (std::int64_t i = 0; i < length; ++i) prompt.ids.push_back(token(rng));
  return prompt;
}

double matmul_gflops(torch::Dtype dtype, int repeat) {
  // The decoder's MLP shape for a 1,024-token prompt of the 2B model.
  const std::int64_t m = 1024, k = 1536, n = 8960;
  const torch::Tensor a = torch::randn({m, k}).to(dtype);
  const torch::Tensor b = torch::randn({k, n}).to(dtype);
  torch::matmul(a, b);  // warm-up (oneDNN picks its kernels)
  const double s = median_seconds(repeat, [&] { torch::matmul(a, b); });
  return 2.0 * m * k * n / s / 1e9;
}

double read_bandwidth_gbs(int repeat) {
  const torch::Tensor big = torch::ones({std::int64_t{1} << 28}, torch::kFloat32);  // 1 GiB
  big.sum();
  const double s = median_seconds(repeat, [&] { big.sum(); });
  return static_cast<double>(big.numel() * 4) / s / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mat engine bench"};
  std::string weights;
  std::string dtype = "bf16";
  std::int64_t prompt_tokens = 1024;
  int decode_tokens = 64;
  int batch = 4;
  int threads = 2;
  int repeat = 3;
  app.add_option("--weights", weights, "Checkpoint folder")->required();
  app.add_option("--dtype", dtype, "bf16 or f32");
  app.add_option("--prompt", prompt_tokens, "Prefill length");
  app.add_option("--decode", decode_tokens, "Tokens decoded after a 1-token prompt");
  app.add_option("--batch", batch, "Sequences of the batched decode (0: skip)");
  app.add_option("--threads", threads, "libtorch threads");
  app.add_option("--repeat", repeat, "Repetitions (medians are reported)");
  CLI11_PARSE(app, argc, argv);

  torch::set_num_threads(threads);
  const auto load_start = Clock::now();
  auto engine = LocalEngine::load(weights, {"cpu", dtype, threads});
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  mat::engine::Qwen2VLModelImpl& model = engine->model();
  std::int64_t params = 0;
  std::int64_t weight_bytes = 0;
  for (const torch::Tensor& p : model.parameters()) {
    params += p.numel();
    weight_bytes += p.numel() * static_cast<std::int64_t>(p.element_size());
  }

  SamplingParams one;
  one.max_tokens = 1;
  one.stop_token_ids = {-1};
  const PromptInput long_prompt = random_prompt(*engine, prompt_tokens, 1);
  engine->generate(random_prompt(*engine, 16, 2), one);  // warm-up
  std::vector<double> prefill;
  for (int i = 0; i < std::max(1, repeat - 1); ++i) {
    prefill.push_back(engine->generate(long_prompt, one).prefill_ms);
  }

  SamplingParams decode;
  decode.max_tokens = decode_tokens + 1;  // the first token comes from the prefill
  decode.stop_token_ids = {-1};
  const PromptInput short_prompt = random_prompt(*engine, 1, 3);
  std::vector<double> decode_ms;
  for (int i = 0; i < repeat; ++i) {
    decode_ms.push_back(engine->generate(short_prompt, decode).decode_ms);
  }

  double batch_tok_s = 0;
  if (batch > 0) {
    std::vector<PromptInput> prompts;
    for (int i = 0; i < batch; ++i) prompts.push_back(random_prompt(*engine, 1 + 7 * i, 10 + i));
    std::vector<GenerationRequest> requests;
    for (const PromptInput& p : prompts) requests.push_back({&p, decode, {}, {}});
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      const std::vector<GenerationResult> r = engine->generate_batch(requests);
      ms.push_back(std::max_element(r.begin(), r.end(), [](const auto& a, const auto& b) {
                     return a.decode_ms < b.decode_ms;
                   })->decode_ms);
    }
    batch_tok_s = 1000.0 * batch * decode_tokens / median(ms);
  }

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto& text = engine->config().text;
  const std::int64_t kv_bytes = 2LL * text.num_hidden_layers * text.num_key_value_heads *
                                text.head_dim * (prompt_tokens + 1) * (dtype == "f32" ? 4 : 2);
  mat::core::Json out = {
      {"engine", "mat"},
      {"dtype", dtype},
      {"threads", threads},
      {"params", params},
      {"weight_bytes", weight_bytes},
      {"load_s", load_s},
      {"prompt_tokens", prompt_tokens},
      {"prefill_tok_s", 1000.0 * static_cast<double>(prompt_tokens) / median(prefill)},
      {"decode_tokens", decode_tokens},
      {"decode_tok_s", 1000.0 * decode_tokens / median(decode_ms)},
      {"batch", batch},
      {"batch_decode_tok_s", batch_tok_s},
      {"peak_rss_bytes", static_cast<std::int64_t>(usage.ru_maxrss) * 1024},
      {"kv_cache_bytes", kv_bytes},
      {"matmul_gflops", matmul_gflops(dtype == "f32" ? torch::kFloat32 : torch::kBFloat16, repeat)},
      {"matmul_gflops_f32", matmul_gflops(torch::kFloat32, repeat)},
      {"read_gbs", read_bandwidth_gbs(repeat)},
  };
  std::cout << out.dump() << std::endl;
  return 0;
}

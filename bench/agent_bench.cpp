// Per-step overhead of the agent loop: everything but the model's own time. The model is the
// scripted local server from tests/support, which answers at once, so what is measured is the
// prompt rendering, the HTTP round trip (streamed), parsing, the sandboxed step and the record.
//
//   build/bench/agent_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Per-step overhead = (time of Run/8/x - time of Run/1/x) / 7; Run/1 alone is dominated by the
// worker start. The image variants attach a 1280x960 noise JPEG (incompressible, ~1 MB of
// base64), which every request carries.
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mat/agent/agent.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "support/fake_openai_server.h"

namespace {

using namespace mat;

// Arg 0: steps per run; arg 1: side of an attached photo-like image in pixels (0: none).
void BM_Run(benchmark::State& state) {
  const int steps = static_cast<int>(state.range(0));
  const int image_side = static_cast<int>(state.range(1));
  testing::FakeOpenAIServer server;
  llm::OpenAIConfig config;
  config.base_url = server.base_url();
  config.model = "bench";
  llm::OpenAIChatModel model(config);
  const tools::ToolRegistry registry = tools::builtin_registry();
  agent::AgentOptions options;
  options.max_steps = steps;
  agent::Agent agent(model, registry, agent::PromptTemplate::builtin(), options);
  core::TempDir dir;
  std::vector<std::filesystem::path> files;
  if (image_side > 0) {
    cv::Mat noise(image_side, image_side * 4 / 3, CV_8UC3);
    cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
    files.push_back(dir.path() / "photo.jpg");
    cv::imwrite(files.back().string(), noise);
  }
  int run_number = 0;
  for (auto _ : state) {
    for (int i = 0; i + 1 < steps; ++i) {
      server.enqueue(testing::ScriptedReply::text(
          "Thought: step\nCode:\n```py\nv = " + std::to_string(i) + "\nprint(v)\n```"));
    }
    server.enqueue(
        testing::ScriptedReply::text("Thought: end\nCode:\n```py\nfinal_answer(answer=1)\n```"));
    const agent::Trajectory t =
        agent.run({.id = "bench", .text = "Count.", .files = files},
                  agent::RunPaths::under(dir.path() / ("run-" + std::to_string(run_number++))));
    if (!t.succeeded()) state.SkipWithError(("run failed: " + t.end_reason).c_str());
  }
  state.counters["steps"] = steps;
}
BENCHMARK(BM_Run)
    ->Args({1, 0})
    ->Args({8, 0})
    ->Args({1, 960})
    ->Args({8, 960})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

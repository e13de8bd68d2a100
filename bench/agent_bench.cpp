// Per-step overhead of the agent loop: everything but the model's own time. The model is the
// scripted local server from tests/support, which answers at once, so what is measured is the
// prompt rendering, the HTTP round trip (streamed), parsing, the sandboxed step and the record.
//
//   build/bench/agent_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Per-step overhead = (time of Run/8 - time of Run/1) / 7; Run/1 alone is dominated by the
// worker start.
#include <benchmark/benchmark.h>

#include "mat/agent/agent.h"
#include "mat/llm/openai_client.h"
#include "support/fake_openai_server.h"
#include "support/temp_dir.h"

namespace {

using namespace mat;

void BM_Run(benchmark::State& state) {
  const int steps = static_cast<int>(state.range(0));
  testing::FakeOpenAIServer server;
  llm::OpenAIConfig config;
  config.base_url = server.base_url();
  config.model = "bench";
  llm::OpenAIChatModel model(config);
  const tools::ToolRegistry registry = tools::builtin_registry();
  agent::AgentOptions options;
  options.max_steps = steps;
  agent::Agent agent(model, registry, agent::PromptTemplate::builtin(), options);
  testing::TempDir dir;
  for (auto _ : state) {
    for (int i = 0; i + 1 < steps; ++i) {
      server.enqueue(testing::ScriptedReply::text(
          "Thought: step\nCode:\n```py\nv = " + std::to_string(i) + "\nprint(v)\n```"));
    }
    server.enqueue(
        testing::ScriptedReply::text("Thought: end\nCode:\n```py\nfinal_answer(answer=1)\n```"));
    const agent::Trajectory t =
        agent.run({.id = "bench", .text = "Count.", .files = {}}, dir.path());
    if (!t.succeeded()) state.SkipWithError(("run failed: " + t.end_reason).c_str());
  }
  state.counters["steps"] = steps;
}
BENCHMARK(BM_Run)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

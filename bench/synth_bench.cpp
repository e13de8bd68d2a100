// `mat synth run`'s scheduling against the fake teacher with a fixed latency L at concurrency C:
// teacher calls per second as a fraction of the ideal C / L (goal ≥ 0.9), and the pipeline's own
// CPU time (getrusage, the whole process: workers, store, HTTP client, fake server) per task as
// a fraction of the teacher time a task takes (goal ≤ 0.01). The agent is a stub that asks the
// teacher once, so that the sandbox's start-up (its own benchmark) is not counted here.
//
//   build/bench/synth_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>

#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/synth/pipeline.h"
#include "support/fake_openai_server.h"

namespace {

using namespace mat;
using core::Json;

constexpr int kQueriesPerBatch = 8;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

testing::ScriptedReply teacher_reply(const Json& body, const std::string& stage,
                                     std::chrono::milliseconds latency) {
  testing::ScriptedReply reply;
  if (stage == "queries") {
    Json queries = Json::array();
    const int batch = body.value("seed", 0);
    for (int i = 0; i < kQueriesPerBatch; ++i) {
      queries.push_back({{"query", "Question " + std::to_string(batch) + "." + std::to_string(i)},
                         {"tools", {"final_answer"}},
                         {"files", Json::array()}});
    }
    reply = testing::ScriptedReply::text(Json{{"queries", queries}}.dump());
  } else if (stage == "trajectory") {
    reply = testing::ScriptedReply::text("final_answer(\"42\")");
  } else {
    reply = testing::ScriptedReply::text(R"({"verdict": "yes", "reason": "fine"})");
  }
  reply.delay = latency;
  return reply;
}

void BM_SynthThroughput(benchmark::State& state) {
  const int concurrency = static_cast<int>(state.range(0));
  const std::chrono::milliseconds latency(state.range(1));
  const std::int64_t tasks = state.range(2);
  testing::FakeOpenAIServer server;
  server.set_responder([latency](const std::string&, const Json& body, const std::string& stage) {
    return teacher_reply(body, stage, latency);
  });
  double calls = 0, wall = 0, cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    core::TempDir dir("synth-bench");
    synth::RunConfig config;
    config.teacher_model = "fake-teacher";
    config.teacher_base_url = server.base_url();
    config.queries_per_batch = kQueriesPerBatch;
    synth::init_run(dir.path() / "run", config);
    llm::OpenAIConfig base;
    base.base_url = server.base_url();
    base.model = config.teacher_model;
    base.stream = false;
    synth::PipelineDeps deps;
    deps.models = [&base](const std::string& stage) {
      return synth::make_stage_model(base, stage);
    };
    deps.run_agent = [](llm::ChatModel& model, const agent::Task& task, const agent::RunPaths&) {
      agent::Trajectory record;
      record.id = task.id;
      record.task = task.text;
      agent::Step step;
      step.raw = model.chat({llm::ChatMessage::text(llm::Role::kUser, task.text)}, {}).text;
      record.steps.push_back(step);
      record.final_answer = "42";
      record.end_reason = agent::end_reason::kFinalAnswer;
      return record;
    };
    synth::Store store(dir.path() / "run");
    synth::CallLimiter limiter({}, 0);
    synth::RunOptions options;
    options.tasks = tasks;
    options.concurrency = concurrency;
    options.limiter = &limiter;
    const std::size_t before = server.request_count();
    state.ResumeTiming();
    const double cpu_before = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    synth::run_pipeline(dir.path() / "run", config, store, deps, options);
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpu += cpu_seconds() - cpu_before;
    calls += static_cast<double>(server.request_count() - before);
  }
  const double ideal = concurrency / std::chrono::duration<double>(latency).count();
  const double per_second = calls / wall;
  const double teacher_seconds_per_task = calls / static_cast<double>(state.iterations() * tasks) *
                                          std::chrono::duration<double>(latency).count();
  state.counters["calls_per_s"] = per_second;
  state.counters["of_C_over_L"] = per_second / ideal;
  state.counters["cpu_ms_per_task"] = cpu / static_cast<double>(state.iterations() * tasks) * 1e3;
  state.counters["cpu_of_teacher"] =
      cpu / static_cast<double>(state.iterations() * tasks) / teacher_seconds_per_task;
}
// {concurrency, latency ms, tasks}
BENCHMARK(BM_SynthThroughput)
    ->Args({8, 100, 64})
    ->Args({32, 100, 256})
    ->Args({32, 500, 256})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

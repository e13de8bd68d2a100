// The synth pipeline against a fake teacher (tests/support/fake_openai_server.h): the stage
// header on every request, malformed replies retried with the error shown, resuming after a
// stop at any call, status counts and the exports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/core/interrupt.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/synth/export.h"
#include "mat/synth/pipeline.h"
#include "mat/tools/final_answer.h"
#include "mat/tools/registry.h"
#include "support/fake_openai_server.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ScriptedReply;

std::string queries_reply(const std::vector<std::string>& queries) {
  Json list = Json::array();
  for (const std::string& query : queries) {
    list.push_back({{"query", query}, {"tools", {"final_answer"}}, {"files", Json::array()}});
  }
  return "```json\n" + Json{{"queries", list}}.dump(2) + "\n```";
}

std::string verdict(const std::string& answer, const std::string& reason = "fine") {
  return Json{{"verdict", answer}, {"reason", reason}}.dump();
}

std::string answer_step(const std::string& answer) {
  return "Thought: I know this.\nCode:\n```py\nfinal_answer(\"" + answer + "\")\n```";
}

// Passes the first `allowed` calls to the wrapped model; every later one throws
// core::Interrupted without reaching the server: a process stopped at that point.
class StoppingModel : public llm::ChatModel {
 public:
  StoppingModel(std::shared_ptr<llm::ChatModel> inner, std::atomic<int>& left)
      : inner_(std::move(inner)), left_(left) {}
  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token) override {
    if (left_.fetch_sub(1) <= 0) throw core::Interrupted();
    return inner_->chat(messages, params, on_token);
  }
  llm::ModelIdentity identity() const override { return inner_->identity(); }

 private:
  std::shared_ptr<llm::ChatModel> inner_;
  std::atomic<int>& left_;
};

class SynthPipeline : public ::testing::Test {
 protected:
  SynthPipeline() { registry_.add(tools::make_final_answer_tool()); }

  fs::path run_dir() const { return dir_.path() / "run"; }

  RunConfig config() const {
    RunConfig config;
    config.teacher_model = "fake-teacher";
    config.teacher_base_url = server_.base_url();
    config.queries_per_batch = 3;
    config.max_parse_attempts = 2;
    config.verifiers_stop_tasks = !keep_rejected_;
    return config;
  }

  // Runs the pipeline on a fresh or existing run; `calls_allowed` < 0: no stop.
  RunSummary run(std::int64_t tasks, int calls_allowed = -1,
                 std::optional<std::string> only_stage = std::nullopt) {
    if (!fs::exists(run_dir() / kConfigFile)) init_run(run_dir(), config());
    const RunConfig loaded = load_run_config(run_dir());
    llm::OpenAIConfig base;
    base.base_url = loaded.teacher_base_url;
    base.model = loaded.teacher_model;
    base.max_retries = 0;
    std::atomic<int> left(calls_allowed < 0 ? 1'000'000 : calls_allowed);
    PipelineDeps deps;
    deps.models = [&](const std::string& stage) -> std::shared_ptr<llm::ChatModel> {
      return std::make_shared<StoppingModel>(make_stage_model(base, stage), left);
    };
    deps.run_agent = [&](llm::ChatModel& model, const agent::Task& task,
                         const agent::RunPaths& paths) {
      agent::AgentOptions options;
      options.max_steps = loaded.max_steps;
      options.max_consecutive_errors = loaded.max_errors;
      agent::Agent agent(model, registry_, agent::PromptTemplate::builtin(), options);
      return agent.run(task, paths);
    };
    deps.tools = registry_.names();
    deps.agent_prompt_version = agent::PromptTemplate::builtin().version;
    deps.agent_system_prompt = "SYSTEM PROMPT";
    Store store(run_dir());
    RunOptions options;
    options.tasks = tasks;
    options.only_stage = std::move(only_stage);
    return run_pipeline(run_dir(), loaded, store, deps, options);
  }

  // The replies of a clean two-task run, in the order a one-worker run asks for them.
  void enqueue_two_tasks() {
    server_.enqueue(ScriptedReply::text(
        queries_reply({"What is six times seven?", "what is SIX times seven", "Name a colour."})));
    server_.enqueue(ScriptedReply::text(verdict("yes")));
    server_.enqueue(ScriptedReply::text(answer_step("42")));
    server_.enqueue(ScriptedReply::text(verdict("yes")));
    server_.enqueue(ScriptedReply::text(verdict("yes")));
    server_.enqueue(ScriptedReply::text(answer_step("blue")));
    server_.enqueue(ScriptedReply::text(verdict("no", "the answer ignores the question")));
  }

  std::string export_text(const std::string& format) {
    Store store(run_dir());
    const fs::path out = dir_.path() / ("export-" + format);
    const ExportSummary summary = export_run(run_dir(), store, format, out);
    return core::read_file(summary.written.at(0));
  }

  bool keep_rejected_ = false;
  core::TempDir dir_{"synth-pipeline"};
  testing::FakeOpenAIServer server_;
  tools::ToolRegistry registry_;
};

TEST_F(SynthPipeline, EveryTeacherRequestNamesItsStage) {
  enqueue_two_tasks();
  const RunSummary summary = run(2);
  EXPECT_FALSE(summary.interrupted);
  EXPECT_EQ(summary.tasks_added, 2);  // the near-duplicate was dropped
  EXPECT_THAT(server_.header_values("X-Mat-Stage"),
              ElementsAre("queries", "verify_files", "trajectory", "verify_trajectory",
                          "verify_files", "trajectory", "verify_trajectory"));
  // The queries request shows the seed examples and the run's tools.
  const std::string prompt = server_.requests().at(0)["messages"][0]["content"].dump();
  EXPECT_THAT(prompt, HasSubstr("final_answer"));

  Store store(run_dir());
  const StoreCounts counts = store.counts();
  EXPECT_EQ(counts.tasks, 2);
  EXPECT_EQ(counts.batches.at("done"), 1);
  EXPECT_EQ(counts.stages.at("verify_files").at("accepted"), 2);
  EXPECT_EQ(counts.stages.at("trajectory").at("done"), 2);
  EXPECT_EQ(counts.stages.at("verify_trajectory").at("accepted"), 1);
  EXPECT_EQ(counts.stages.at("verify_trajectory").at("rejected"), 1);
  EXPECT_EQ(counts.calls, 7);
  EXPECT_EQ(counts.tokens_in, 7 * 11);
  EXPECT_EQ(store.top_reasons("verify_trajectory", 5).at(0).first,
            "the answer ignores the question");
}

TEST_F(SynthPipeline, ExportsOnlyTasksAcceptedByBothVerifiers) {
  enqueue_two_tasks();
  run(2);
  const std::string jsonl = export_text("mat");
  ASSERT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 1);
  const agent::Trajectory record = agent::Trajectory::from_json(Json::parse(jsonl));
  EXPECT_EQ(record.task, "What is six times seven?");
  EXPECT_EQ(record.final_answer, "42");
  EXPECT_EQ(record.verdicts["verify_trajectory"]["verdict"], "yes");
  EXPECT_EQ(record.source["pipeline"], "mat synth");
  EXPECT_THAT(jsonl, ::testing::Not(HasSubstr("blue")));

  // LLaMA-Factory's ShareGPT layout: "messages" of {role, content} with roles system, user,
  // assistant alternating user/assistant after the system turn, "images" a list of paths with
  // one <image> per path; dataset_info.json naming the file, the formatting and the tags.
  const Json samples = Json::parse(export_text("llamafactory"));
  ASSERT_TRUE(samples.is_array());
  ASSERT_EQ(samples.size(), 1u);
  const Json& messages = samples[0]["messages"];
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages[0]["role"], "system");
  EXPECT_EQ(messages[0]["content"], "SYSTEM PROMPT");
  for (size_t i = 1; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i]["role"], i % 2 == 1 ? "user" : "assistant");
    EXPECT_TRUE(messages[i]["content"].is_string());
  }
  EXPECT_EQ(messages.back()["role"], "assistant");
  EXPECT_THAT(messages.back()["content"].get<std::string>(), HasSubstr("final_answer(\"42\")"));
  EXPECT_TRUE(samples[0]["images"].is_array());
  const Json info = core::read_json_file(dir_.path() / "export-llamafactory" / "dataset_info.json");
  EXPECT_EQ(info["mat_synth"]["file_name"], "mat_synth.json");
  EXPECT_EQ(info["mat_synth"]["formatting"], "sharegpt");
  EXPECT_EQ(info["mat_synth"]["columns"]["messages"], "messages");
  EXPECT_EQ(info["mat_synth"]["tags"]["user_tag"], "user");
  EXPECT_THROW(export_text("axolotl"), core::Error);
}

TEST_F(SynthPipeline, AKeepRejectedRunGivesTheVerifiedDataAndTheAblationWithoutVerifiers) {
  keep_rejected_ = true;
  server_.enqueue(
      ScriptedReply::text(queries_reply({"What is six times seven?", "Name a colour."})));
  server_.enqueue(ScriptedReply::text(verdict("no", "the files do not hold the numbers")));
  server_.enqueue(ScriptedReply::text(answer_step("42")));  // runs although the files failed
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  server_.enqueue(ScriptedReply::text(answer_step("blue")));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  run(2);
  EXPECT_EQ(Store(run_dir()).counts().stages.at("trajectory").at("done"), 2);

  const std::string verified = export_text("mat");
  EXPECT_EQ(std::count(verified.begin(), verified.end(), '\n'), 1);
  EXPECT_THAT(verified, HasSubstr("blue"));
  EXPECT_THAT(verified, ::testing::Not(HasSubstr("six times seven")));

  Store store(run_dir());
  const ExportSummary ablation =
      export_run(run_dir(), store, "mat", dir_.path() / "ablation", /*include_rejected=*/true);
  EXPECT_EQ(ablation.exported, 2);
  EXPECT_EQ(ablation.rejected, 1);
  const std::string all = core::read_file(ablation.written.at(0));
  const agent::Trajectory first =
      agent::Trajectory::from_json(Json::parse(all.substr(0, all.find('\n'))));
  EXPECT_EQ(first.final_answer, "42");
  EXPECT_EQ(first.verdicts["verify_files"]["verdict"], "no");
}

TEST_F(SynthPipeline, MalformedRepliesAreRetriedWithTheErrorThenRecordedAsFailure) {
  server_.enqueue(ScriptedReply::text("Sure! Here are some queries for you."));
  server_.enqueue(ScriptedReply::text(queries_reply({"What is two plus two?"})));
  server_.enqueue(ScriptedReply::text("{\"verdict\": \"perhaps\"}"));
  server_.enqueue(ScriptedReply::text("I think it is fine."));
  run(1);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 4u);
  // The second attempt shows the teacher its reply and what was wrong with it.
  const Json& retry = requests[1]["messages"];
  ASSERT_EQ(retry.size(), 3u);
  EXPECT_EQ(retry[1]["role"], "assistant");
  EXPECT_THAT(retry[2]["content"].dump(), HasSubstr("not valid JSON"));
  EXPECT_THAT(requests[3]["messages"][2]["content"].dump(), HasSubstr("\\\"verdict\\\" must be"));
  EXPECT_THAT(server_.header_values("X-Mat-Stage"),
              ElementsAre("queries", "queries", "verify_files", "verify_files"));

  Store store(run_dir());
  const auto result = store.result(1, "verify_files");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, "failed");
  EXPECT_THAT(result->error, HasSubstr("no usable reply after 2 attempts"));
  EXPECT_FALSE(store.result(1, "trajectory"));  // a failed task goes no further
  EXPECT_EQ(store.counts().calls, 4);
  // Running again does not retry a recorded failure.
  run(1);
  EXPECT_EQ(server_.request_count(), 4u);
}

TEST_F(SynthPipeline, ARunStoppedAtAnyCallResumesWithoutRedoingFinishedWork) {
  enqueue_two_tasks();
  run(2);
  const std::string reference = export_text("mat");
  const std::string clean_run = run_dir().string() + "-clean";
  fs::rename(run_dir(), clean_run);

  for (int stop_after = 0; stop_after < 7; ++stop_after) {
    SCOPED_TRACE("stopped after call " + std::to_string(stop_after));
    fs::remove_all(run_dir());
    const size_t before = server_.request_count();
    enqueue_two_tasks();
    const RunSummary first = run(2, stop_after);
    EXPECT_TRUE(first.interrupted);
    EXPECT_EQ(server_.request_count() - before, static_cast<size_t>(stop_after));
    run(2);  // resumes: asks exactly for what is missing
    EXPECT_EQ(server_.request_count() - before, 7u);
    const std::string resumed = export_text("mat");
    // Equal up to the fields that differ between any two runs (ids, times, folders).
    auto strip = [](const std::string& text) {
      Json record = Json::parse(text);
      for (const char* field : {"run_dir", "started_at", "wall_ms"}) record.erase(field);
      for (Json& step : record["steps"]) {
        step.erase("model_ms");
        step.erase("exec_ms");
      }
      return record;
    };
    EXPECT_EQ(strip(resumed), strip(reference));
  }
}

TEST_F(SynthPipeline, OneStageAtATime) {
  server_.enqueue(
      ScriptedReply::text(queries_reply({"What is six times seven?", "Name a colour."})));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  server_.enqueue(ScriptedReply::text(answer_step("42")));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  server_.enqueue(ScriptedReply::text(answer_step("blue")));
  server_.enqueue(ScriptedReply::text(verdict("yes")));
  run(2, -1, "queries");
  EXPECT_THAT(server_.header_values("X-Mat-Stage"), ElementsAre("queries"));
  run(2, -1, "verify_files");
  EXPECT_EQ(server_.request_count(), 3u);
  Store store(run_dir());
  EXPECT_EQ(store.counts().stages.at("verify_files").at("accepted"), 2);
  EXPECT_FALSE(store.result(1, "trajectory"));
  run(2);
  EXPECT_THAT(server_.header_values("X-Mat-Stage"),
              ElementsAre("queries", "verify_files", "verify_files", "trajectory",
                          "verify_trajectory", "trajectory", "verify_trajectory"));
}

// Answers by stage, in process: for runs whose call order is not fixed (several workers).
class StageFake : public llm::ChatModel {
 public:
  StageFake(std::string stage, std::atomic<int>& batches)
      : stage_(std::move(stage)), batches_(batches) {}
  llm::ChatResult chat(const std::vector<llm::ChatMessage>&, const llm::GenerationParams&,
                       const llm::TokenCallback&) override {
    llm::ChatResult result;
    result.finish_reason = "stop";
    if (stage_ == "queries") {
      const std::string n = std::to_string(batches_.fetch_add(1));
      // One repeat of an earlier batch's query in every batch: removed as a near-duplicate.
      result.text =
          queries_reply({"Question " + n + " a?", "Question " + n + " b?", "question 0 A"});
    } else if (stage_ == "trajectory") {
      result.text = answer_step("ok");
    } else {
      result.text = verdict("yes");
    }
    return result;
  }
  llm::ModelIdentity identity() const override { return {"openai", "stage-fake", std::nullopt}; }

 private:
  std::string stage_;
  std::atomic<int>& batches_;
};

TEST_F(SynthPipeline, ManyWorkersFinishEveryTaskOnce) {
  init_run(run_dir(), config());
  std::atomic<int> batches(0);
  PipelineDeps deps;
  deps.models = [&](const std::string& stage) -> std::shared_ptr<llm::ChatModel> {
    return std::make_shared<StageFake>(stage, batches);
  };
  deps.run_agent = [&](llm::ChatModel& model, const agent::Task& task,
                       const agent::RunPaths& paths) {
    agent::Agent agent(model, registry_, agent::PromptTemplate::builtin(), {});
    return agent.run(task, paths);
  };
  Store store(run_dir());
  RunOptions options;
  options.tasks = 7;
  options.concurrency = 4;
  std::vector<std::string> lines;
  options.on_recorded = [&](const std::string& line) { lines.push_back(line); };
  const RunSummary summary =
      run_pipeline(run_dir(), load_run_config(run_dir()), store, deps, options);
  EXPECT_FALSE(summary.interrupted);
  // Every batch brings two new tasks: the four batches 7 tasks need hold 8, of which the first 7
  // by id are run. (A batch that finished early may have added a task that a lower id then
  // made a repeat: tasks_added counts it.)
  EXPECT_EQ(summary.batches, 4);
  EXPECT_GE(summary.tasks_added, 8);
  EXPECT_EQ(summary.units, 21);
  EXPECT_EQ(lines.size(), 21u + static_cast<size_t>(summary.batches));
  EXPECT_THAT(lines, ::testing::Contains("t000001 verify_trajectory: accepted"));
  const StoreCounts counts = store.counts();
  EXPECT_EQ(counts.tasks, 8);
  EXPECT_EQ(counts.stages.at("verify_files").at("accepted"), 7);
  EXPECT_EQ(counts.stages.at("trajectory").at("done"), 7);
  EXPECT_EQ(counts.stages.at("verify_trajectory").at("accepted"), 7);
  for (const TaskRow& row : store.tasks(7)) EXPECT_TRUE(is_accepted(store, row.id));
  // No two tasks share a normalised query.
  std::set<std::string> seen;
  for (const TaskRow& row : store.tasks(7))
    EXPECT_TRUE(seen.insert(normalised_text(row.spec.query)).second);
}

TEST_F(SynthPipeline, AnUnreachableTeacherRecordsNothingAndStopsTheRun) {
  init_run(run_dir(), config());
  llm::OpenAIConfig down;
  down.base_url = testing::unreachable_base_url();
  down.model = "fake-teacher";
  down.max_retries = 0;
  PipelineDeps deps;
  deps.models = [&](const std::string& stage) { return make_stage_model(down, stage); };
  deps.run_agent = [](llm::ChatModel&, const agent::Task&, const agent::RunPaths&) {
    return agent::Trajectory();
  };
  RunOptions options;
  options.tasks = 3;
  options.concurrency = 2;
  {
    Store store(run_dir());
    const RunSummary summary =
        run_pipeline(run_dir(), load_run_config(run_dir()), store, deps, options);
    EXPECT_FALSE(summary.interrupted);
    EXPECT_GE(summary.deferred, 5);  // 3 in a row plus one per worker, then it stops
    EXPECT_LE(summary.deferred, 6);
    EXPECT_THAT(summary.last_deferral, HasSubstr(down.base_url));
    EXPECT_EQ(store.counts().batches.size(), 0u);       // a teacher outage is not a failed batch
    EXPECT_EQ(store.counts().calls, summary.deferred);  // but every call is in the log
  }
  // Back up: the run goes on as if nothing happened.
  enqueue_two_tasks();
  run(2);
  EXPECT_EQ(Store(run_dir()).counts().stages.at("verify_trajectory").at("accepted"), 1);
}

TEST_F(SynthPipeline, InitRefusesAnExistingRunAndRunRefusesAFolderThatIsNone) {
  init_run(run_dir(), config());
  EXPECT_THROW(init_run(run_dir(), config()), core::Error);
  EXPECT_THROW(load_run_config(dir_.path() / "nothing"), core::Error);
}

}  // namespace
}  // namespace mat::synth

// `mat synth` as a user runs it, against the fake teacher: init, run, status, export, and a run
// killed with SIGKILL at each teacher call that resumes to the same export.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/fake_openai_server.h"
#include "support/mat_process.h"

extern char** environ;

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MatOutcome;
using testing::run_mat;
using testing::ScriptedReply;

std::vector<ScriptedReply> two_task_replies() {
  const Json queries = {
      {"queries",
       {{{"query", "What is six times seven?"},
         {"tools", {"final_answer"}},
         {"files", Json::array()}},
        {{"query", "Name a colour."}, {"tools", {"final_answer"}}, {"files", Json::array()}}}}};
  auto verdict = [](const char* answer) {
    return ScriptedReply::text(Json{{"verdict", answer}, {"reason", "because"}}.dump());
  };
  auto step = [](const char* answer) {
    return ScriptedReply::text("Thought: easy.\nCode:\n```py\nfinal_answer(\"" +
                               std::string(answer) + "\")\n```");
  };
  return {ScriptedReply::text(queries.dump()),
          verdict("yes"),
          step("42"),
          verdict("yes"),
          verdict("yes"),
          step("blue"),
          verdict("no")};
}

class SynthCli : public ::testing::Test {
 protected:
  std::string run_dir() const { return (dir_.path() / "run").string(); }
  std::string env() const { return "OPENAI_API_KEY=test"; }

  MatOutcome mat(const std::string& args) { return run_mat(args, env()); }

  void init() {
    const MatOutcome o = mat("synth init " + run_dir() + " --teacher fake-teacher --base-url " +
                             server_.base_url() + " --queries-per-batch 2");
    ASSERT_EQ(o.exit_code, 0) << o.output;
  }

  // The export's records without what differs between any two runs (times, folders).
  Json exported(const std::string& name) {
    const fs::path out = dir_.path() / name;
    const MatOutcome o = mat("synth export " + run_dir() + " --format mat --out " + out.string());
    EXPECT_EQ(o.exit_code, 0) << o.output;
    Json records = Json::array();
    const std::string text = core::read_file(out / "trajectories.jsonl");
    size_t start = 0;
    for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
      Json record = Json::parse(text.substr(start, end - start));
      for (const char* field : {"run_dir", "started_at", "wall_ms"}) record.erase(field);
      for (Json& step : record["steps"]) {
        step.erase("model_ms");
        step.erase("exec_ms");
      }
      records.push_back(record);
      start = end + 1;
    }
    return records;
  }

  core::TempDir dir_{"synth-cli"};
  testing::FakeOpenAIServer server_;
};

TEST_F(SynthCli, InitRunStatusExport) {
  init();
  for (ScriptedReply& reply : two_task_replies()) server_.enqueue(std::move(reply));
  MatOutcome o = mat("synth run " + run_dir() + " --tasks 2 --concurrency 1");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("query batch 1: 2 new task(s) of 2 proposed"));
  EXPECT_THAT(o.output, HasSubstr("t000002 verify_trajectory: rejected (because)"));
  EXPECT_THAT(server_.header_values("X-Mat-Stage"),
              ElementsAre("queries", "verify_files", "trajectory", "verify_trajectory",
                          "verify_files", "trajectory", "verify_trajectory"));

  o = mat("synth status " + run_dir() + " --json");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const Json status = Json::parse(o.output);
  EXPECT_EQ(status["tasks"], 2);
  EXPECT_EQ(status["accepted"], 1);
  EXPECT_EQ(status["stages"]["verify_trajectory"]["rejected"], 1);
  EXPECT_EQ(status["stages"]["trajectory"]["done"], 2);
  EXPECT_EQ(status["teacher_calls"], 7);
  o = mat("synth status " + run_dir());
  EXPECT_THAT(o.output, HasSubstr("accepted for export: 1"));

  const Json records = exported("out");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["final_answer"], "42");

  o = mat("synth export " + run_dir() + " --format llamafactory --out " +
          (dir_.path() / "lf").string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const Json samples = core::read_json_file(dir_.path() / "lf" / "mat_synth.json");
  ASSERT_EQ(samples.size(), 1u);
  // The system turn is the agent's real system prompt, naming the tools.
  EXPECT_THAT(samples[0]["messages"][0]["content"].get<std::string>(), HasSubstr("final_answer"));

  // A second run has nothing left to do.
  o = mat("synth run " + run_dir() + " --tasks 2");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(server_.request_count(), 7u);
}

TEST_F(SynthCli, UsageErrors) {
  EXPECT_EQ(mat("synth run " + run_dir() + " --tasks 2").exit_code, 1);  // no run there
  EXPECT_EQ(mat("synth init " + run_dir()).exit_code, 2);                // no --teacher
  init();
  EXPECT_EQ(mat("synth init " + run_dir() + " --teacher x").exit_code, 1);  // exists
  EXPECT_EQ(mat("synth run " + run_dir() + " --tasks 2 --stage nope").exit_code, 2);
  EXPECT_EQ(mat("synth export " + run_dir() + " --format swift --out x").exit_code, 2);
}

// Kills `mat synth run` with SIGKILL while its teacher call number `call` (from 1) is in flight.
void kill_at_call(const testing::FakeOpenAIServer& server, size_t call, const std::string& args) {
  const std::string command = "exec env -u OPENAI_BASE_URL -u MAT_MODEL OPENAI_API_KEY=test " +
                              std::string(MAT_BINARY_DIR) + "/mat " + args + " >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server.request_count() < call && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "mat ended before call " << call;
}

TEST_F(SynthCli, KilledAtAnyTeacherCallResumesToTheSameExport) {
  init();
  for (ScriptedReply& reply : two_task_replies()) server_.enqueue(std::move(reply));
  ASSERT_EQ(mat("synth run " + run_dir() + " --tasks 2 --concurrency 1").exit_code, 0);
  const Json reference = exported("reference");
  ASSERT_EQ(reference.size(), 1u);

  for (size_t call = 1; call <= 7; ++call) {
    SCOPED_TRACE("killed during teacher call " + std::to_string(call));
    fs::remove_all(run_dir());
    init();
    const std::vector<ScriptedReply> replies = two_task_replies();
    // The first run gets the replies up to the call it is killed in (held back so that it is in
    // flight); the resumed run gets that call's reply again and the rest.
    for (size_t i = 0; i + 1 < call; ++i) server_.enqueue(replies[i]);
    ScriptedReply held = replies[call - 1];
    held.delay = std::chrono::milliseconds(2000);
    server_.enqueue(held);
    for (size_t i = call - 1; i < replies.size(); ++i) server_.enqueue(replies[i]);
    const size_t before = server_.request_count();
    kill_at_call(server_, before + call, "synth run " + run_dir() + " --tasks 2 --concurrency 1");
    const MatOutcome resumed = mat("synth run " + run_dir() + " --tasks 2 --concurrency 1");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(server_.request_count() - before, 8u);  // 7 calls, the killed one asked twice
    EXPECT_EQ(exported("resumed"), reference);
  }
}

}  // namespace
}  // namespace mat::synth

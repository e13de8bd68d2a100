// `mat synth` as a user runs it, against the fake teacher: init, run, status, export, and a run
// killed with SIGKILL at each teacher call that resumes to the same export; at scale, against a
// deterministic teacher answering by what is asked: SIGKILL at random points of concurrent runs,
// the rpm limit, the budget, status while running, shards merged, replay.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <random>
#include <regex>
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
  EXPECT_EQ(mat("synth export " + run_dir() + " --format axolotl --out x").exit_code, 2);
}

// Starts `mat <args>` in the background, its output thrown away.
pid_t start_mat(const std::string& args) {
  const std::string command = "exec env -u OPENAI_BASE_URL -u MAT_MODEL OPENAI_API_KEY=test " +
                              std::string(MAT_BINARY_DIR) + "/mat " + args + " >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  return pid;
}

// Kills `mat` with SIGKILL once the server has received `call` requests (counted from its
// start), or as soon as it has ended by itself. Returns whether the kill is what ended it.
bool kill_at_call(const testing::FakeOpenAIServer& server, size_t call, const std::string& args) {
  const pid_t pid = start_mat(args);
  int status = 0;
  bool ended = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!ended && server.request_count() < call && std::chrono::steady_clock::now() < give_up) {
    ended = waitpid(pid, &status, WNOHANG) == pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (ended) return false;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
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
    EXPECT_TRUE(kill_at_call(server_, before + call,
                             "synth run " + run_dir() + " --tasks 2 --concurrency 1"))
        << "mat ended before call " << call;
    const MatOutcome resumed = mat("synth run " + run_dir() + " --tasks 2 --concurrency 1");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(server_.request_count() - before, 8u);  // 7 calls, the killed one asked twice
    EXPECT_EQ(exported("resumed"), reference);
  }
}

// The teacher of the scale tests: answers by what is asked, so that runs with several workers
// (whose request order is not fixed) get the same replies. Batch b (the request's seed) holds
// "Question b.0" and "Question b.1", some marked to be rejected by a verifier or to be answered
// with garbage first; the agent answers "b.i". Each reply takes `latency`.
testing::FakeOpenAIServer::Responder deterministic_teacher(std::chrono::milliseconds latency) {
  return [latency](const std::string&, const Json& body, const std::string& stage) {
    const std::string text = body.dump();
    ScriptedReply reply;
    if (stage == "queries") {
      const int b = body.value("seed", 0);
      const auto query = [b](int i) {
        std::string q = "Question " + std::to_string(b) + "." + std::to_string(i);
        if (i == 1 && b % 3 == 2) q += " (off topic)";
        if (i == 0 && b % 4 == 3) q += " (vague)";
        if (i == 0 && b % 2 == 0) q += " (malformed)";
        return Json{{"query", q}, {"tools", {"final_answer"}}, {"files", Json::array()}};
      };
      reply = ScriptedReply::text(Json{{"queries", {query(0), query(1)}}}.dump());
    } else if (stage == "verify_files") {
      const bool retried = text.find("could not be used") != std::string::npos;
      if (text.find("(malformed)") != std::string::npos && !retried) {
        reply = ScriptedReply::text("Looks fine to me!");
      } else if (text.find("(off topic)") != std::string::npos) {
        reply = ScriptedReply::text(R"({"verdict": "no", "reason": "off topic"})");
      } else {
        reply = ScriptedReply::text(R"({"verdict": "yes", "reason": "fine"})");
      }
    } else if (stage == "trajectory") {
      std::smatch match;
      const bool found = std::regex_search(text, match, std::regex("Question (\\d+)\\.(\\d+)"));
      const std::string answer = found ? match[1].str() + "." + match[2].str() : "?";
      reply = ScriptedReply::text("Thought: I know it.\nCode:\n```py\nfinal_answer(\"" + answer +
                                  "\")\n```");
    } else {
      const bool vague = text.find("(vague)") != std::string::npos;
      reply = ScriptedReply::text(vague ? R"({"verdict": "no", "reason": "too vague"})"
                                        : R"({"verdict": "yes", "reason": "good"})");
    }
    reply.delay = latency;
    return reply;
  };
}

constexpr int kScaleTasks = 8;      // four batches of two
constexpr size_t kScaleCalls = 28;  // 4 queries, 8 + 2 verify_files, 7 trajectories, 7 verdicts

class SynthScale : public SynthCli {
 protected:
  void SetUp() override { server_.set_responder(deterministic_teacher(latency_)); }

  std::string init_args(const std::string& run) const {
    return "synth init " + run + " --teacher fake-teacher --base-url " + server_.base_url() +
           " --queries-per-batch 2";
  }
  void init_at(const std::string& run) { ASSERT_EQ(mat(init_args(run)).exit_code, 0); }
  std::string run_args(const std::string& run, const std::string& more = "") const {
    return "synth run " + run + " --tasks " + std::to_string(kScaleTasks) + " --concurrency 3 " +
           more;
  }
  // The export of an uninterrupted run at `run`.
  Json reference_export() {
    init_at(run_dir());
    const MatOutcome o = mat(run_args(run_dir()));
    EXPECT_EQ(o.exit_code, 0) << o.output;
    return exported("reference");
  }

  std::chrono::milliseconds latency_{20};
};

TEST_F(SynthScale, KilledAtRandomPointsOfConcurrentRunsResumesToTheSameExport) {
  const Json reference = reference_export();
  EXPECT_EQ(server_.request_count(), kScaleCalls);
  // Rejected tasks never reach the export: 8 tasks, one off topic, one vague.
  ASSERT_EQ(reference.size(), 6u);
  EXPECT_EQ(reference.dump().find("(off topic)"), std::string::npos);
  EXPECT_EQ(reference.dump().find("(vague)"), std::string::npos);
  EXPECT_EQ(reference[0]["final_answer"], "1.0");

  std::mt19937 random(20261129);  // fixed: a failure replays the same kills
  int kills = 0;
  for (int round = 0; round < 4; ++round) {
    fs::remove_all(run_dir());
    init_at(run_dir());
    std::string points;
    for (int kill = 0; kill < 2; ++kill) {
      const size_t at = std::uniform_int_distribution<size_t>(1, kScaleCalls / 2)(random);
      points += " " + std::to_string(at);
      kills += kill_at_call(server_, server_.request_count() + at, run_args(run_dir())) ? 1 : 0;
    }
    SCOPED_TRACE("killed after calls" + points);
    const MatOutcome resumed = mat(run_args(run_dir()));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(exported("resumed"), reference);
  }
  EXPECT_GE(kills, 4);  // the kills did land inside runs
}

TEST_F(SynthScale, TheRpmLimitHoldsInTheFirstWindow) {
  latency_ = std::chrono::milliseconds(0);
  server_.set_responder(deterministic_teacher(latency_));
  init();
  // 6 a minute: a burst of one, then one every 10 s. Unlimited, the 28 calls take well under the
  // time this waits.
  const pid_t pid = start_mat(run_args(run_dir(), "--rpm 6"));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server_.request_count() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));  // from the first call on
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_GE(server_.request_count(), 1u);
  EXPECT_LE(server_.request_count(), 6u);
}

TEST_F(SynthScale, TheBudgetStopsTheRunCleanlyAndARaisedOneFinishesIt) {
  const Json reference = reference_export();
  fs::remove_all(run_dir());
  init();
  // 11 prompt tokens a call at $100,000 per million: $1.10 a call.
  Json config = core::read_json_file(fs::path(run_dir()) / "config.json");
  config["prices"] = {{"fake-teacher", {{"input_per_mtok", 100'000}, {"output_per_mtok", 0}}}};
  core::write_json_file(fs::path(run_dir()) / "config.json", config);
  const size_t before = server_.request_count();
  MatOutcome o = mat("synth run " + run_dir() + " --tasks 8 --concurrency 1 --budget-usd 5");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_THAT(o.output, HasSubstr("the budget of $5.00 is spent ($5.5000)"));
  EXPECT_EQ(server_.request_count() - before, 5u);  // the sixth call was never sent
  const Json status = Json::parse(mat("synth status " + run_dir() + " --json").output);
  EXPECT_DOUBLE_EQ(status["cost_usd"].get<double>(), 5.5);
  EXPECT_EQ(status["teacher_calls"], 5);
  EXPECT_DOUBLE_EQ(status["stages"]["queries"]["cost_usd"].get<double>(), 1.1);
  // What was finished is kept: the raised budget asks only for the rest.
  o = mat("synth run " + run_dir() + " --tasks 8 --concurrency 1 --budget-usd 100");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(server_.request_count() - before, kScaleCalls);
  EXPECT_EQ(exported("resumed"), reference);
}

TEST_F(SynthScale, StatusReportsEveryStageAlsoWhileRunning) {
  latency_ = std::chrono::milliseconds(300);
  server_.set_responder(deterministic_teacher(latency_));
  init();
  const pid_t pid = start_mat(run_args(run_dir()));
  Json status;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    status = Json::parse(mat("synth status " + run_dir() + " --json").output);
    if (status["running"] == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status["running"], true) << status.dump(2);
  EXPECT_EQ(status["target"], kScaleTasks);
  int status_code = 0;
  waitpid(pid, &status_code, 0);
  ASSERT_TRUE(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);

  status = Json::parse(mat("synth status " + run_dir() + " --json").output);
  EXPECT_EQ(status["running"], false);
  EXPECT_EQ(status["tasks"], kScaleTasks);
  EXPECT_EQ(status["through"], kScaleTasks);
  EXPECT_EQ(status["accepted"], 6);
  EXPECT_EQ(status["eta_seconds"], 0);
  EXPECT_EQ(status["teacher_calls"], kScaleCalls);
  for (const char* stage : {"queries", "verify_files", "trajectory", "verify_trajectory"}) {
    SCOPED_TRACE(stage);
    const Json& row = status["stages"][stage];
    for (const char* field : {"in_flight", "per_minute", "calls", "tokens_in", "tokens_out",
                              "cost_usd", "top_reasons", "pass_rate", "total"}) {
      EXPECT_TRUE(row.contains(field)) << field;
    }
    EXPECT_EQ(row["in_flight"], 0);
    EXPECT_EQ(row["tokens_in"], 11 * row["calls"].get<int>());
  }
  EXPECT_EQ(status["stages"]["verify_files"]["calls"], 10);
  EXPECT_EQ(status["stages"]["verify_files"]["rejected"], 1);
  EXPECT_EQ(status["stages"]["verify_files"]["top_reasons"][0]["reason"], "off topic");
  EXPECT_EQ(status["stages"]["verify_trajectory"]["top_reasons"][0]["reason"], "too vague");
  const MatOutcome text = mat("synth status " + run_dir());
  EXPECT_THAT(text.output, HasSubstr("1× too vague"));
  EXPECT_THAT(text.output, HasSubstr("accepted for export: 6"));
}

TEST_F(SynthScale, ShardsMergedExportAsTheUnshardedRun) {
  const Json reference = reference_export();
  const std::string one = (dir_.path() / "shard1").string();
  const std::string two = (dir_.path() / "shard2").string();
  init_at(one);
  init_at(two);
  const size_t before = server_.request_count();
  ASSERT_EQ(mat(run_args(one, "--shard 1/2")).exit_code, 0);
  ASSERT_EQ(mat(run_args(two, "--shard 2/2")).exit_code, 0);
  EXPECT_EQ(server_.request_count() - before, kScaleCalls);  // no unit done twice
  fs::remove_all(run_dir());
  MatOutcome o = mat("synth merge " + run_dir() + " " + one + " " + two);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(exported("merged"), reference);
  const Json status = Json::parse(mat("synth status " + run_dir() + " --json").output);
  EXPECT_EQ(status["teacher_calls"], kScaleCalls);
  // Nothing is left to do: the merged run resumes as the unsharded one would.
  ASSERT_EQ(mat(run_args(run_dir())).exit_code, 0);
  EXPECT_EQ(server_.request_count() - before, kScaleCalls);

  o = mat("synth merge " + run_dir() + " " + one);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("merged here already"));
  const std::string other = (dir_.path() / "other").string();
  ASSERT_EQ(mat(init_args(other) + " --seed 7").exit_code, 0);
  o = mat("synth merge " + (dir_.path() / "merged2").string() + " " + one + " " + other);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("config.json differs"));
}

TEST_F(SynthScale, ReplayRunsAgainWithoutTheTeacher) {
  const Json reference = reference_export();
  const std::string again = (dir_.path() / "again").string();
  init_at(again);
  const size_t before = server_.request_count();
  const MatOutcome o = mat(run_args(again, "--replay " + run_dir()));
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(server_.request_count(), before);
  const fs::path out = dir_.path() / "again-export";
  ASSERT_EQ(mat("synth export " + again + " --format mat --out " + out.string()).exit_code, 0);
  EXPECT_EQ(core::read_file(out / "trajectories.jsonl").find("(off topic)"), std::string::npos);
  EXPECT_EQ(core::read_json_file(out / "card.json")["tasks"], 6);
}

TEST_F(SynthScale, TheExportHasADatasetCard) {
  reference_export();
  const fs::path out = dir_.path() / "reference";
  const Json card = core::read_json_file(out / "card.json");
  EXPECT_EQ(card["tasks"], 6);
  EXPECT_EQ(card["tools_by_frequency"][0]["name"], "final_answer");
  EXPECT_EQ(card["tools_by_frequency"][0]["count"], 6);
  EXPECT_EQ(card["steps_per_trajectory"]["histogram"][0]["name"], "1");
  EXPECT_EQ(card["acceptance"]["verify_files"]["rejected"], 1);
  EXPECT_EQ(card["acceptance"]["verify_trajectory"]["top_reasons"][0]["reason"], "too vague");
  EXPECT_EQ(card["teacher_calls"], kScaleCalls);
  const std::string md = core::read_file(out / "card.md");
  for (const char* chart : {"acceptance", "tools", "files", "steps"}) {
    EXPECT_THAT(md, HasSubstr(std::string("(card/") + chart + ".svg)"));
    EXPECT_TRUE(fs::exists(out / "card" / (std::string(chart) + ".svg"))) << chart;
  }
  EXPECT_THAT(md, HasSubstr("1× too vague"));
}

}  // namespace
}  // namespace mat::synth

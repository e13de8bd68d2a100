// The `mat` binary as a user runs it: exit codes, the final-answer line, the record on disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <map>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/fake_openai_server.h"
#include "support/mat_process.h"

namespace mat {
namespace {

using ::testing::HasSubstr;
using testing::MatOutcome;
using ::testing::Not;
using testing::ScriptedReply;

using testing::run_mat;

std::string last_stdout_line(const std::string& stdout_text) {
  std::string text = stdout_text;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.substr(text.rfind('\n') + 1);
}

TEST(Cli, RunWithoutAnEndpointSaysWhatToSet) {
  const MatOutcome o = run_mat("run 'What is 1+1?' --model m");
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("OPENAI_BASE_URL"));
}

TEST(Cli, RunPrintsTheFinalAnswerLastAndWritesTheRecord) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  // The retry after the 429 is logged: on stderr, never between the run and its answer line.
  server.enqueue(ScriptedReply::error(429, "slow down", {{"Retry-After", "0"}}));
  server.enqueue(ScriptedReply::text("Thought: easy\nCode:\n```py\nfinal_answer(answer=2)\n```"));
  const std::string out = (dir.path() / "run.json").string();
  const std::string stdout_file = (dir.path() / "stdout.txt").string();
  const MatOutcome o =
      run_mat("run 'What is 1+1?' --model qwen2-vl-7b --out " + out + " --workdir " +
                  (dir.path() / "work").string() + " >" + stdout_file,
              "OPENAI_BASE_URL=" + server.base_url());
  EXPECT_EQ(o.exit_code, 0) << o.output;
  const std::string stdout_text = core::read_file(stdout_file);
  EXPECT_EQ(last_stdout_line(stdout_text), "Final answer: 2");
  EXPECT_THAT(stdout_text, HasSubstr("final_answer(answer=2)"));  // the step was shown
  EXPECT_THAT(stdout_text, Not(HasSubstr("retrying")));
  EXPECT_THAT(o.output, HasSubstr("retrying"));
  EXPECT_THAT(o.output, HasSubstr("1 step · "));
  EXPECT_THAT(o.output, HasSubstr("tokens 11 in, 7 out · final_answer"));
  const core::Json record = core::read_json_file(out);
  EXPECT_EQ(record["end_reason"], "final_answer");
  EXPECT_EQ(record["model"]["name"], "qwen2-vl-7b");
  EXPECT_EQ(record["steps"].size(), 1u);
}

TEST(Cli, MissingFileExitsOneWithARecordAndNoModelCall) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  const std::string out = (dir.path() / "run.json").string();
  const MatOutcome o =
      run_mat("run 'Sum the table' --file /nonexistent/table.png --model m --out " + out +
                  " --workdir " + (dir.path() / "work").string(),
              "OPENAI_BASE_URL=" + server.base_url());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("/nonexistent/table.png"));
  EXPECT_EQ(server.request_count(), 0u);
  EXPECT_EQ(core::read_json_file(out)["end_reason"], "input_error");
}

TEST(Cli, AKilledRunLeavesARecordOfItsStepsSoFar) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("Thought: look\nCode:\n```py\nprint('seen')\n```"));
  // The second step sleeps far past the helper's deadline (and --step-timeout lets it), so mat is
  // always killed in the middle of it.
  server.enqueue(
      ScriptedReply::text("Thought: wait\nCode:\n```py\nimport time\ntime.sleep(3600)\n```"));
  const std::filesystem::path out = dir.path() / "run.json";
  // SIGKILL leaves mat no chance to write anything more: the record is what the checkpoints wrote.
  const testing::SignalledRun run = testing::signal_once_recorded(
      "run 'Look twice' --model m -q --step-timeout 3600 --out " + out.string() + " --workdir " +
          (dir.path() / "work").string(),
      "OPENAI_BASE_URL=" + server.base_url(), out, 1, SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(run.wait_status) && WTERMSIG(run.wait_status) == SIGKILL)
      << "wait status " << run.wait_status << ": " << run.stderr_text;
  ASSERT_EQ(run.record.value("steps", core::Json::array()).size(), 1u) << run.stderr_text;
  EXPECT_EQ(run.record["end_reason"], "interrupted");
  EXPECT_EQ(run.record["steps"][0]["observation"], "seen\n");
}

TEST(Cli, ConfigFileSetsDefaultsThatFlagsOverride) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("Thought: a\nCode:\n```py\nprint(1)\n```"));
  server.enqueue(ScriptedReply::text("best guess"));
  std::ofstream(dir.path() / "mat.toml") << "[run]\nmodel = \"from-config\"\nmax-steps = 5\n";
  const std::string out = (dir.path() / "run.json").string();
  const MatOutcome o = run_mat("--config " + (dir.path() / "mat.toml").string() +
                                   " run 'Go' --max-steps 1 -q --out " + out + " --workdir " +
                                   (dir.path() / "work").string(),
                               "OPENAI_BASE_URL=" + server.base_url());
  EXPECT_EQ(o.exit_code, 1) << o.output;  // cut off by the flag's limit of one step
  const core::Json record = core::read_json_file(out);
  EXPECT_EQ(record["model"]["name"], "from-config");
  EXPECT_EQ(record["end_reason"], "max_steps");
  EXPECT_EQ(record["steps"].size(), 1u);
}

TEST(Cli, ToolsAndTool) {
  MatOutcome o = run_mat("tools");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.output, HasSubstr("final_answer"));
  // Tools that cannot work here are listed with the reason, and left out of the agent's set.
  EXPECT_THAT(o.output, HasSubstr("web_search: not available on this machine: no search backend"));
  o = run_mat("tools --json");
  const core::Json listed = core::Json::parse(o.output.substr(0, o.output.rfind(']') + 1));
  std::map<std::string, bool> available;
  for (const core::Json& tool : listed) available[tool["name"]] = tool["available"];
  EXPECT_TRUE(available.at("final_answer"));
  EXPECT_TRUE(available.at("ocr"));
  EXPECT_FALSE(available.at("web_search"));
  o = run_mat("tool final_answer --answer 42");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output, "42\n");
  o = run_mat("tool final_answer --answer 'two words'");
  EXPECT_EQ(o.output, "two words\n");
  o = run_mat("tool final_answer");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("missing the required argument 'answer'"));
  o = run_mat("tool no_such_tool --x 1");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("unknown tool"));
}

TEST(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(run_mat("frobnicate").exit_code, 2);
  EXPECT_EQ(run_mat("run").exit_code, 2);
  EXPECT_EQ(run_mat("--help").exit_code, 0);
}

}  // namespace
}  // namespace mat

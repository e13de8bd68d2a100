// `mat` refusing what would hurt the host, before anything runs (exit 2), and stopping cleanly
// when asked to.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/fake_openai_server.h"
#include "support/mat_process.h"

namespace mat {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::MatOutcome;
using testing::run_mat;
using testing::ScriptedReply;

const std::string kEndpoint = "OPENAI_BASE_URL=http://127.0.0.1:9/v1";

// Regression: `--out /dev/full` as root replaced the device node.
TEST(CliSafety, TheRecordMustBeARegularFileOutsideTheWorkDir) {
  core::TempDir dir;
  fs::create_symlink("/etc/hostname", dir.path() / "link.json");
  for (const std::string& out :
       {std::string("/dev/full"), dir.path().string(), (dir.path() / "link.json").string()}) {
    const MatOutcome o = run_mat("run t --model m --out " + out, kEndpoint);
    EXPECT_EQ(o.exit_code, 2) << out << ": " << o.output;
    EXPECT_THAT(o.output, HasSubstr("name a regular file")) << out;
  }
  const MatOutcome inside = run_mat("run t --model m --workdir " + (dir.path() / "w").string() +
                                        " --out " + (dir.path() / "w" / "r.json").string(),
                                    kEndpoint);
  EXPECT_EQ(inside.exit_code, 2);
  EXPECT_THAT(inside.output, HasSubstr("inside the work dir"));
  struct stat info {};
  ASSERT_EQ(::lstat("/dev/full", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
}

TEST(CliSafety, SystemHomeAndNonEmptyWorkDirsAreRefused) {
  for (const char* dir : {"/", "/etc", "/usr/lib", "/root"}) {
    const MatOutcome o =
        run_mat(std::string("run t --model m --workdir ") + dir, kEndpoint + " HOME=/root");
    EXPECT_EQ(o.exit_code, 2) << dir << ": " << o.output;
  }
  core::TempDir dir;
  std::ofstream(dir.path() / "keep.txt") << "mine";
  const MatOutcome o = run_mat("run t --model m --workdir " + dir.path().string(), kEndpoint);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("--reuse-workdir"));
}

// Regression: `--step-timeout 1e10` or `nan` corrupted every step.
TEST(CliSafety, NumericOptionsAreRangeChecked) {
  for (const char* bad : {"--step-timeout nan", "--step-timeout 1e10", "--temperature inf",
                          "--max-tokens 0", "--image-max-megapixels -1"}) {
    const MatOutcome o = run_mat(std::string("run t --model m ") + bad, kEndpoint);
    EXPECT_EQ(o.exit_code, 2) << bad << ": " << o.output;
  }
}

TEST(CliSafety, ABadBaseUrlOrPromptTemplateExitsTwo) {
  EXPECT_EQ(run_mat("run t --model m --base-url ftp://example.org", kEndpoint).exit_code, 2);
  const MatOutcome o = run_mat("run t --model m --prompt-template /nonexistent.txt", kEndpoint);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("/nonexistent.txt"));
}

TEST(CliSafety, ConfigErrorsNameTheKeyAndTheLine) {
  core::TempDir dir;
  const fs::path config = dir.path() / "mat.toml";
  const auto check = [&](const std::string& text, const std::string& expected) {
    std::ofstream(config) << text;
    const MatOutcome o = run_mat("--config " + config.string() + " run t --model m", kEndpoint);
    EXPECT_EQ(o.exit_code, 2) << text << ": " << o.output;
    EXPECT_THAT(o.output, HasSubstr(expected)) << text;
  };
  check("[run]\nmax-steps = 3\nmax-stepz = 4\n", "line 3: [run] max-stepz is not an option");
  check("[run]\nmax-steps = \"many\"\n", "line 2: [run] max-steps must be an integer");
  check("[run\nmax-steps = 3\n", "line 1");
  check("[walk]\nx = 1\n", "'walk' is not a command");
  check("[run]\nstep-timeout = nan\n", "not a number");
}

// Regression: 60,000 nested brackets in a tool argument crashed `mat tool`.
TEST(CliSafety, DeeplyNestedToolArgumentsAreRefused) {
  const MatOutcome o = run_mat("tool final_answer --answer '" + std::string(60'000, '[') + "'", "");
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("deep"));
}

// Regression: model text could drive the terminal (clear the screen, retitle the window).
TEST(CliSafety, ControlCharactersFromTheModelAreEscaped) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text(
      "Thought: \x1b[2Jcleared\nCode:\n```py\nfinal_answer(answer='\\x1b]0;owned\\x07')\n```"));
  const std::string stdout_file = (dir.path() / "stdout.txt").string();
  const MatOutcome o =
      run_mat("run t --model m --run-dir " + (dir.path() / "run").string() + " >" + stdout_file,
              "OPENAI_BASE_URL=" + server.base_url());
  EXPECT_EQ(o.exit_code, 0) << o.output;
  const std::string shown = core::read_file(stdout_file);
  EXPECT_EQ(shown.find('\x1b'), std::string::npos);
  EXPECT_THAT(shown, HasSubstr("\\x1b[2Jcleared"));
  EXPECT_THAT(shown, HasSubstr("Final answer: \\x1b]0;owned\\x07"));
}

// Regression: SIGTERM killed mat without a final record and left the work dir to the sandbox.
TEST(CliSafety, SigtermFinishesTheRunAndHandsTheWorkDirBack) {
  core::TempDir dir;
  testing::FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("Thought: look\nCode:\n```py\nprint('seen')\n```"));
  server.enqueue(ScriptedReply::text(
      "Thought: wait\nCode:\n```py\nopen('made.txt', 'w').write('x')\nimport time\n"
      "time.sleep(3600)\n```"));
  const fs::path run_dir = dir.path() / "run";
  const testing::SignalledRun run = testing::signal_once_recorded(
      "run 'Look twice' --model m -q --step-timeout 3600 --run-dir " + run_dir.string(),
      "OPENAI_BASE_URL=" + server.base_url(), run_dir / "trajectory.json", 1, SIGTERM);
  ASSERT_TRUE(WIFEXITED(run.wait_status)) << run.stderr_text;
  EXPECT_EQ(WEXITSTATUS(run.wait_status), 128 + SIGTERM) << run.stderr_text;
  const core::Json record = core::read_json_file(run_dir / "trajectory.json");
  EXPECT_EQ(record["end_reason"], "interrupted");
  EXPECT_GT(record["wall_ms"].get<double>(), 0.0);
  EXPECT_EQ(record["steps"][0]["observation"], "seen\n");
  for (const auto& entry : fs::recursive_directory_iterator(run_dir)) {
    struct stat info {};
    ASSERT_EQ(::lstat(entry.path().c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, ::getuid()) << entry.path();
  }
}

// After a SIGKILL nothing in mat could hand the work dir back: `mat cleanup` and the next run over
// the folder do.
TEST(CliSafety, CleanupHandsBackWhatASandboxUidStillOwns) {
  if (::geteuid() != 0) GTEST_SKIP() << "only a root host lends work dirs to other uids";
  core::TempDir dir;
  const fs::path work = dir.path() / "work";
  fs::create_directories(work / "sub");
  std::ofstream(work / "sub" / "left.txt") << "x";
  std::ofstream(work / "mine.txt") << "y";
  constexpr uid_t kSandboxUid = 1'800'000'123;  // in the range mat lends from
  for (const fs::path& path : {work, work / "sub", work / "sub" / "left.txt"}) {
    ASSERT_EQ(::lchown(path.c_str(), kSandboxUid, kSandboxUid), 0);
  }
  ASSERT_EQ(::lchown((work / "mine.txt").c_str(), 4242, 4242), 0);  // someone else's: kept
  const MatOutcome o = run_mat("cleanup " + work.string());
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("3 entries handed back"));
  for (const fs::path& path : {work, work / "sub", work / "sub" / "left.txt"}) {
    struct stat info {};
    ASSERT_EQ(::lstat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, ::getuid()) << path;
  }
  struct stat other {};
  ASSERT_EQ(::lstat((work / "mine.txt").c_str(), &other), 0);
  EXPECT_EQ(other.st_uid, 4242u);
}

}  // namespace
}  // namespace mat

// `mat teacher serve` end to end with `mat synth`, both run as a user runs them: the pool from
// `mat teacher pool`, a handful of tasks with faults injected, status showing tasks accepted and
// rejected by both verifiers, and the export holding the accepted trajectories. And `mat teacher
// tasks` writing a GTA dataset that `mat eval`'s loader reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "mat/eval/gta_dataset.h"
#include "support/mat_process.h"

namespace mat::teacher {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::HasSubstr;
using testing::MatOutcome;
using testing::run_mat;

// `mat teacher serve` in the background, stopped with SIGTERM when the test ends.
class ServedTeacher {
 public:
  ServedTeacher(const fs::path& dir, const std::string& flags) {
    const fs::path log = dir / "teacher.log";
    const MatOutcome started =
        run_mat("teacher serve --port 0 " + flags + " > " + log.string() + " 2>&1 & echo $!");
    pid_ = std::stoi(started.output);
    const std::regex ready("mat teacher: listening on (http://[0-9.]+:[0-9]+/v1)");
    for (int tries = 0; tries < 300 && base_url_.empty(); ++tries) {
      std::smatch match;
      const std::string text = core::read_file(log);
      if (std::regex_search(text, match, ready)) base_url_ = match[1].str();
      if (base_url_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~ServedTeacher() {
    if (pid_ > 0) kill(pid_, SIGTERM);
  }
  const std::string& base_url() const { return base_url_; }

 private:
  int pid_ = -1;
  std::string base_url_;
};

TEST(TeacherSynth, SynthesizesAgainstTheServedTeacherAndItsVerifiersReject) {
  const core::TempDir dir("teacher-synth");
  const fs::path pool = dir.path() / "pool";
  const MatOutcome made = run_mat("teacher pool --seed 4 --out " + pool.string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ASSERT_TRUE(fs::exists(pool / "captions.jsonl"));

  const ServedTeacher teacher(dir.path(), "--seed 4 --wrong-answer-rate 0.4 --bad-file-rate 0.6");
  ASSERT_FALSE(teacher.base_url().empty()) << core::read_file(dir.path() / "teacher.log");
  const std::string run = (dir.path() / "run").string();
  const std::string env = "OPENAI_API_KEY=none";
  MatOutcome o =
      run_mat("synth init " + run +
                  " --teacher mat-teacher --embedder mat-teacher "
                  "--base-url " +
                  teacher.base_url() + " --images " + pool.string() + " --queries-per-batch 4",
              env);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  o = run_mat("synth run " + run + " --tasks 8 --concurrency 2 --quiet", env);
  ASSERT_EQ(o.exit_code, 0) << o.output;

  o = run_mat("synth status " + run + " --json", env);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const Json status = Json::parse(o.output);
  const Json& stages = status["stages"];
  EXPECT_EQ(status["tasks"], 8) << status.dump(2);
  EXPECT_GT(status["accepted"].get<int>(), 0) << status.dump(2);
  EXPECT_GT(stages["verify_files"].value("rejected", 0), 0) << status.dump(2);
  EXPECT_GT(stages["verify_trajectory"].value("rejected", 0), 0) << status.dump(2);
  for (const char* stage : {"file_contents", "file_code", "images", "trajectory"}) {
    EXPECT_EQ(stages[stage].value("failed", 0), 0) << stage << ": " << status.dump(2);
  }

  const fs::path out = dir.path() / "export";
  o = run_mat("synth export " + run + " --format mat --out " + out.string(), env);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const std::string records = core::read_file(out / "trajectories.jsonl");
  size_t lines = 0;
  for (const char c : records) lines += c == '\n';
  EXPECT_EQ(lines, status["accepted"].get<size_t>());
  EXPECT_THAT(records, HasSubstr("final_answer(answer=answer)"));
  EXPECT_THAT(records, ::testing::Not(HasSubstr("answer + 1")));
}

TEST(TeacherSynth, TasksAreWrittenInGtaFormat) {
  const core::TempDir dir("teacher-tasks");
  const fs::path out = dir.path() / "heldout";
  const MatOutcome o =
      run_mat("teacher tasks --count 6 --seed 99 --phrasings heldout --out " + out.string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const Json dataset = core::read_json_file(out / "dataset.json");
  ASSERT_EQ(dataset.size(), 6U);
  for (const auto& [id, entry] : dataset.items()) {
    for (const Json& file : entry["files"]) {
      EXPECT_TRUE(fs::exists(out / file["path"].get<std::string>())) << file.dump();
    }
    EXPECT_EQ(entry["dialogs"][0]["role"], "user");
    EXPECT_EQ(entry["dialogs"].back()["content"], entry["gt_answer"]["whitelist"][0][0]);
  }
  const eval::GtaDataset loaded = eval::load_gta(out);
  EXPECT_TRUE(loaded.problems.empty());
  EXPECT_TRUE(eval::missing_files(loaded).empty());
  ASSERT_EQ(loaded.queries.size(), 6U);
  for (const eval::GtaQuery& query : loaded.queries) {
    EXPECT_EQ(query.kind, eval::GtaAnswerKind::kObjective) << query.question;
  }
}

}  // namespace
}  // namespace mat::teacher

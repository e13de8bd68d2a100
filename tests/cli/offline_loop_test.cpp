// `make run`'s loop (scripts/offline-loop.sh) end to end at a very small scale: every phase runs
// with the real programs (tokenizer training, model init, pretraining, the procedural teacher and
// `mat synth`, `mat train`, `mat eval`, the comparison), the comparison's JSON holds each run's
// figures, a second run reuses every phase, and `mat run` with no endpoint then runs the embedded
// controller the loop installed and writes its record. The figures at this scale mean nothing:
// the test checks the wiring, the loop's note measures the accuracy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/mat_process.h"

namespace mat {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct ScriptOutcome {
  int exit_code = -1;
  std::string output;
};

ScriptOutcome run_loop(const fs::path& loop, const fs::path& controller) {
  const std::string command =
      "env -u OPENAI_BASE_URL -u OPENAI_API_KEY -u MAT_MODEL LOOP_SYNTH_TASKS=3 "
      "LOOP_HELDOUT_TASKS=2 LOOP_PRETRAIN_STEPS=1 LOOP_TRAIN_EPOCHS=1 LOOP_MAX_STEPS=1 "
      "LOOP_MAX_TOKENS=24 LOOP_VOCAB=4096 LOOP_INSTALL_CONTROLLER=" +
      controller.string() +
      " MAT=" MAT_BINARY_DIR "/mat " MAT_SOURCE_DIR "/scripts/offline-loop.sh " + loop.string() +
      " 2>&1";
  ScriptOutcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) outcome.output.append(buffer, n);
  const int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

TEST(OfflineLoop, RunsEveryPhaseReusesThemAndInstallsTheEmbeddedController) {
  const core::TempDir dir("offline-loop");
  const fs::path loop = dir.path() / "loop";
  const fs::path controller = dir.path() / "controller";
  const ScriptOutcome first = run_loop(loop, controller);
  ASSERT_EQ(first.exit_code, 0) << first.output;

  // The last line is the comparison's JSON: base, tuned and the ablation on the same tasks.
  const fs::path compare = last_line(first.output);
  EXPECT_EQ(compare, loop / "compare" / "compare.json");
  const core::Json comparison = core::read_json_file(compare);
  ASSERT_EQ(comparison["runs"].size(), 3u);
  const char* labels[] = {"base", "tuned", "tuned-without-verifiers"};
  for (size_t i = 0; i < 3; ++i) {
    const core::Json& run = comparison["runs"][i];
    EXPECT_EQ(run["label"], labels[i]);
    EXPECT_EQ(run["tasks"], 2);
    for (const char* metric : {"ans_acc_official", "tool_acc", "code_exec"}) {
      EXPECT_TRUE(run["overall"].contains(metric)) << labels[i] << " " << metric;
    }
  }
  // Both trainings logged their steps; the synthesis kept its verdicts.
  EXPECT_TRUE(fs::exists(loop / "tuned" / "train_log.jsonl"));
  EXPECT_TRUE(fs::exists(loop / "tuned-unverified" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(loop / "data" / "verified" / "trajectories.jsonl"));

  // A second run does nothing again.
  const ScriptOutcome second = run_loop(loop, controller);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("== eval-tuned: done before"));
  EXPECT_THAT(second.output, ::testing::Not(HasSubstr("mat train:")));
  EXPECT_EQ(last_line(second.output), compare.string());

  // `mat run` with no endpoint: the embedded controller, in process, with a record.
  const fs::path run_dir = dir.path() / "run";
  const testing::MatOutcome run = testing::run_mat(
      "run 'How many faces are in the photo?' --max-steps 1 --max-tokens 16 "
      "--run-dir " +
          run_dir.string(),
      "MAT_CONTROLLER=" + controller.string());
  EXPECT_THAT(run.output, HasSubstr("running the embedded controller"));
  ASSERT_TRUE(fs::exists(run_dir / "trajectory.json")) << run.output;
  const core::Json record = core::read_json_file(run_dir / "trajectory.json");
  EXPECT_EQ(record["prompt_version"], "t3-micro");
  // web_search works only with a corpus: the controller's own, as no MAT_SEARCH_DB is set here.
  EXPECT_EQ(record["tools"], core::Json({"ocr", "facedetection", "draw_box", "inspect_file_as_text",
                                         "web_search", "final_answer"}));
}

}  // namespace
}  // namespace mat

// `mat run --weights`: the agent fully offline on a local Qwen2-VL checkpoint (the golden fixture
// model, which cannot solve anything), so the loop, the parser's errors and the record must work
// end to end without any server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/mat_process.h"

namespace mat {
namespace {

using ::testing::HasSubstr;
using testing::MatOutcome;
using testing::run_mat;

const std::string kModel = std::string(MAT_SOURCE_DIR) + "/tests/fixtures/golden/model";

TEST(LocalRun, TheAgentRunsOfflineOnALocalCheckpoint) {
  const core::TempDir dir;
  // The fixture model's context is 4,096 tokens of a 480-token vocabulary: a short prompt fits.
  const std::filesystem::path prompt = dir.path() / "short.txt";
  std::ofstream(prompt) << "Solve the task with Python code.\nTools:\n{{tools}}\n"
                           "Modules: {{authorized_imports}}\n";
  const std::filesystem::path run = dir.path() / "run";
  const MatOutcome o =
      run_mat("run 'Count the faces.' --weights " + kModel + " --dtype f32 --prompt-template " +
              prompt.string() + " --max-steps 1 --max-tokens 16 --run-dir " + run.string());
  EXPECT_EQ(o.exit_code, 1) << o.output;  // no final_answer from random weights
  const core::Json record = core::read_json_file(run / "trajectory.json");
  EXPECT_EQ(record["model"]["backend"], "local");
  EXPECT_EQ(record["end_reason"], "max_steps");
  ASSERT_EQ(record["steps"].size(), 1u);
  const core::Json& step = record["steps"][0];
  EXPECT_FALSE(step["raw"].get<std::string>().empty());
  EXPECT_GT(step["tokens_in"].get<int>(), 100);
  EXPECT_EQ(step["tokens_out"], 16);
  EXPECT_THAT(step["error"].get<std::string>(), HasSubstr("length limit of 16 tokens"));
}

TEST(LocalRun, ModelAndWeightsAreOneOrTheOther) {
  EXPECT_THAT(run_mat("run 'x' --weights " + kModel + " --model m").output,
              HasSubstr("--model and --weights both given"));
  const MatOutcome lora_alone =
      run_mat("run 'x' --model m --base-url http://127.0.0.1:9/v1 --lora " + kModel);
  EXPECT_EQ(lora_alone.exit_code, 2);
  EXPECT_THAT(lora_alone.output, HasSubstr("--lora needs --weights"));
  const MatOutcome neither = run_mat("run 'x' --base-url http://127.0.0.1:9/v1");
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_THAT(neither.output, HasSubstr("--weights DIR"));
}

}  // namespace
}  // namespace mat

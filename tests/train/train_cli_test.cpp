// `mat train` as a user runs it on the tiny fixture model: trajectories in, the PEFT adapter,
// train_log.jsonl, loss.svg and a checkpoint out; --resume of a finished run; --merge; usage
// errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/mat_process.h"
#include "train/train_data_fixture.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using testing::chart_run;
using testing::DataDir;
using testing::golden_model;
using ::testing::HasSubstr;

int line_count(const fs::path& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

TEST(TrainCli, TrainsAnAdapterAndMergesIt) {
  DataDir dir;
  const std::string data = dir.write({chart_run("a"), chart_run("b"), chart_run("c")}).string();
  const fs::path out = dir.path() / "adapter";
  const std::string train = "train --base " + golden_model().string() + " --data " + data +
                            " --out " + out.string() +
                            " --rank 4 --alpha 8 --targets q_proj,v_proj --epochs 2 --batch 1"
                            " --grad-accum 2 --lr 1e-3 --dtype f32 --grad-checkpointing";
  mat::testing::MatOutcome o = mat::testing::run_mat(train);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("3 sample(s) from 3 record(s)"));
  EXPECT_THAT(o.output, HasSubstr("step 4/4"));
  for (const char* file : {"adapter_config.json", "adapter_model.safetensors", "loss.svg",
                           "checkpoint/trained.safetensors"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file;
  }
  EXPECT_EQ(line_count(out / "train_log.jsonl"), 4);
  EXPECT_EQ(core::read_json_file(out / "adapter_config.json").at("r"), 4);

  // Resuming a finished run changes nothing; other flags cannot resume it.
  o = mat::testing::run_mat(train + " --resume");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(line_count(out / "train_log.jsonl"), 4);
  o = mat::testing::run_mat(train + " --resume --seed 7");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("other options"));

  const fs::path merged = dir.path() / "merged";
  o = mat::testing::run_mat("train --merge --base " + golden_model().string() + " --lora " +
                            out.string() + " --out " + merged.string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(fs::exists(merged / "model.safetensors"));
  EXPECT_TRUE(fs::exists(merged / "config.json"));
}

TEST(TrainCli, UsageErrors) {
  DataDir dir;
  const std::string base = " --base " + golden_model().string();
  const std::string out = " --out " + (dir.path() / "out").string();
  EXPECT_EQ(mat::testing::run_mat("train" + base + out).exit_code, 2);          // no --data
  EXPECT_EQ(mat::testing::run_mat("train --merge" + base + out).exit_code, 2);  // no --lora
  const std::string data = " --data " + dir.write({chart_run()}).string();
  mat::testing::MatOutcome o =
      mat::testing::run_mat("train" + base + out + data + " --targets gate,q_proj");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("LoRA target 'gate'"));
}

}  // namespace
}  // namespace mat::train

// `mat export-dataset` as a user runs it: the files it writes, the summary of what it left out,
// and a corrupt data line stopping it (or skipped and reported) with its file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/core/json.h"
#include "support/mat_process.h"
#include "train/train_data_fixture.h"

namespace mat::train {
namespace {

using testing::chart_run;
using testing::DataDir;
using ::testing::HasSubstr;

class ExportDatasetCli : public ::testing::Test {
 protected:
  mat::testing::MatOutcome export_dataset(const std::string& data, const std::string& flags) {
    return mat::testing::run_mat("export-dataset --data " + data + " --out " +
                                 (dir_.path() / "out").string() + " " + flags);
  }

  DataDir dir_;
};

TEST_F(ExportDatasetCli, WritesLlamaFactoryAndSwiftFiles) {
  const auto data = dir_.write({chart_run("a"), chart_run("b")}).string();
  mat::testing::MatOutcome o = export_dataset(data, "--format llamafactory");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("2 sample(s) from 2 record(s)"));
  EXPECT_EQ(core::read_json_file(dir_.path() / "out/mat.json").size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "out/dataset_info.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "out/images/000001/0.png"));

  o = export_dataset(data, "--format swift --name agent");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "out/agent.jsonl"));
}

TEST_F(ExportDatasetCli, ACorruptLineStopsItUnlessSkipped) {
  const auto data = dir_.write({chart_run("a").to_json().dump(), "{\"id\": \"b\",",
                                chart_run("c").to_json().dump()})
                        .string();
  mat::testing::MatOutcome o = export_dataset(data, "--format swift");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("data.jsonl:2"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "out/mat.jsonl"));

  o = export_dataset(data, "--format swift --skip-bad-records");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("2 sample(s) from 3 record(s): 1 bad record(s) skipped"));
  EXPECT_THAT(o.output, HasSubstr("data.jsonl:2"));
}

TEST_F(ExportDatasetCli, UsageErrors) {
  const auto data = dir_.write({chart_run()}).string();
  EXPECT_EQ(export_dataset(data, "--format axolotl").exit_code, 2);
  EXPECT_EQ(export_dataset(data, "").exit_code, 2);  // no --format
  // A length in tokens needs the tokenizer.
  EXPECT_EQ(export_dataset(data, "--format swift --max-len 100").exit_code, 2);
  const mat::testing::MatOutcome o = export_dataset(
      data, "--format swift --max-len 100 --weights " + testing::golden_model().string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(o.output, HasSubstr("0 sample(s) from 1 record(s): 1 skipped as longer than 100"));
}

}  // namespace
}  // namespace mat::train

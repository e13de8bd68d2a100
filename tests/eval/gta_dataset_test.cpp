// The GTA loader on the real benchmark file and on broken copies of it.
#include "mat/eval/gta_dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/core/temp_dir.h"

namespace mat::eval {
namespace {

using ::testing::HasSubstr;

int count(const GtaDataset& dataset, GtaAnswerKind kind) {
  return static_cast<int>(std::count_if(dataset.queries.begin(), dataset.queries.end(),
                                        [kind](const GtaQuery& q) { return q.kind == kind; }));
}

TEST(GtaDataset, LoadsTheRealBenchmark) {
  const GtaDataset dataset = load_gta(MAT_GTA_DATASET);
  EXPECT_TRUE(dataset.problems.empty());
  ASSERT_EQ(dataset.queries.size(), 229u);
  EXPECT_EQ(count(dataset, GtaAnswerKind::kObjective), 156);
  EXPECT_EQ(count(dataset, GtaAnswerKind::kSubjective), 16);
  EXPECT_EQ(count(dataset, GtaAnswerKind::kImageGeneration), 57);
  const GtaQuery& first = dataset.queries.front();
  EXPECT_EQ(first.id, "0");
  EXPECT_THAT(first.question, HasSubstr("beer"));
  ASSERT_EQ(first.files.size(), 2u);
  EXPECT_EQ(first.files[0].path, "image/image_1.jpg");
  EXPECT_EQ(first.reference_calls.front().name, "ImageDescription");
  EXPECT_EQ(first.reference_calls.front().arguments["image"], "image/image_1.jpg");
  EXPECT_EQ(dataset.queries.back().id, "228");
  // A folder is read as the dataset.json inside it.
  EXPECT_EQ(load_gta(std::filesystem::path(MAT_GTA_DATASET).parent_path()).queries.size(), 229u);
}

TEST(GtaDataset, EveryMalformedEntryIsReportedWithItsIdAndLeftOut) {
  core::Json root = core::read_json_file(MAT_GTA_DATASET);
  root["3"]["gt_answer"] = {{"whitelist", core::Json::array()}, {"blacklist", nullptr}};
  root["7"].erase("dialogs");
  root["12"]["gt_answer"] = 42;
  root["20"]["files"][0]["path"] = 7;
  root["21"]["dialogs"][0]["role"] = 5;  // a wrong type where the loader has a default
  core::TempDir dir;
  core::write_json_file(dir.path() / "dataset.json", root);
  const GtaDataset dataset = load_gta(dir.path() / "dataset.json");
  ASSERT_EQ(dataset.problems.size(), 5u);
  EXPECT_EQ(dataset.problems[0].entry, "3");
  EXPECT_THAT(dataset.problems[0].message, HasSubstr("gt_answer.whitelist"));
  EXPECT_EQ(dataset.problems[1].entry, "7");
  EXPECT_THAT(dataset.problems[1].message, HasSubstr("dialogs"));
  EXPECT_EQ(dataset.problems[2].entry, "12");
  EXPECT_THAT(dataset.problems[2].message, HasSubstr("gt_answer is 42"));
  EXPECT_EQ(dataset.problems[3].entry, "20");
  EXPECT_THAT(dataset.problems[3].message, HasSubstr("files[0].path"));
  EXPECT_EQ(dataset.problems[4].entry, "21");
  EXPECT_EQ(dataset.queries.size(), 224u);
}

TEST(GtaDataset, AFileThatIsNotADatasetFailsNamingIt) {
  core::TempDir dir;
  std::ofstream(dir.path() / "dataset.json") << "[1, 2]";
  EXPECT_THAT([&] { load_gta(dir.path() / "dataset.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("is not a GTA dataset")));
  std::ofstream(dir.path() / "dataset.json") << "{\"0\": ";
  EXPECT_THROW(load_gta(dir.path() / "dataset.json"), core::Error);
}

TEST(GtaDataset, MissingImagesAreNamedPerQuery) {
  core::TempDir dir;
  core::Json root = core::read_json_file(MAT_GTA_DATASET);
  core::Json two = {{"0", root["0"]}, {"1", root["1"]}};
  core::write_json_file(dir.path() / "dataset.json", two);
  std::filesystem::create_directories(dir.path() / "image");
  for (const core::Json& file : root["0"]["files"]) {
    std::ofstream(dir.path() / file["path"].get<std::string>()) << "jpeg";
  }
  const std::vector<EntryProblem> missing = missing_files(load_gta(dir.path()));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].entry, "1");
  EXPECT_THAT(missing[0].message, HasSubstr(root["1"]["files"][0]["path"].get<std::string>()));
  EXPECT_THAT(missing[0].message, HasSubstr("image/ folder"));
}

}  // namespace
}  // namespace mat::eval

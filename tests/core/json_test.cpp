#include "mat/core/json.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"

namespace mat::core {
namespace {

TEST(JsonFile, RoundTripsAndLeavesNoTemporaryFiles) {
  core::TempDir dir;
  const Json value = {{"b", 1}, {"a", {1, 2, 3}}};
  write_json_file(dir.path() / "x.json", value);
  EXPECT_EQ(read_json_file(dir.path() / "x.json"), value);
  EXPECT_EQ(read_json_file(dir.path() / "x.json").begin().key(), "b");  // order kept
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
    ++files;
  EXPECT_EQ(files, 1);
}

TEST(JsonFile, InvalidJsonNamesTheFile) {
  core::TempDir dir;
  std::ofstream(dir.path() / "bad.json") << "{\"a\": ";
  try {
    read_json_file(dir.path() / "bad.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
}

TEST(JsonFile, WritingIntoAMissingFolderFailsClearly) {
  EXPECT_THROW(write_json_file("/nonexistent-folder/x.json", Json::object()), Error);
}

}  // namespace
}  // namespace mat::core

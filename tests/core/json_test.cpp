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

TEST(UntrustedJson, DepthIsCountedOutsideStringsOnly) {
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": "[[[[["}]})"), 3u);
  EXPECT_EQ(json_nesting_depth(R"("\"[[[")"), 0u);
  EXPECT_EQ(json_nesting_depth(std::string(100'000, '[')), kMaxJsonDepth + 1);  // stops early
}

// Regression: 200,000 nested brackets overflowed the stack of the code that walked the value.
TEST(UntrustedJson, RefusesDeepNestingAndGarbage) {
  EXPECT_FALSE(parse_untrusted_json(std::string(200'000, '[') + std::string(200'000, ']')));
  EXPECT_FALSE(parse_untrusted_json("{\"a\": "));
  const std::string deep_but_allowed =
      std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_untrusted_json(deep_but_allowed));
}

// Regression: the temporary file was opened with truncate and followed a planted link.
TEST(JsonFile, ReplacesALinkAtThePathInsteadOfWritingThroughIt) {
  core::TempDir dir;
  std::ofstream(dir.path() / "target.txt") << "precious";
  std::filesystem::create_symlink(dir.path() / "target.txt", dir.path() / "record.json");
  write_json_file(dir.path() / "record.json", Json{{"a", 1}});
  EXPECT_EQ(read_file(dir.path() / "target.txt"), "precious");
  EXPECT_FALSE(std::filesystem::is_symlink(dir.path() / "record.json"));
  EXPECT_EQ(read_json_file(dir.path() / "record.json")["a"], 1);
}

}  // namespace
}  // namespace mat::core

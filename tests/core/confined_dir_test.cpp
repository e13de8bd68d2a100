#include "mat/core/confined_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"

namespace mat::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string read_error(const ConfinedDir& dir, const std::string& relative) {
  try {
    dir.read_regular(relative, 1 << 20);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfinedDir, ReadsRegularFilesInSubfolders) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "a" / "b");
  std::ofstream(tmp.path() / "a" / "b" / "c.txt") << "hello";
  const ConfinedDir dir(tmp.path());
  EXPECT_EQ(dir.read_regular("a/b/c.txt", 100), "hello");
  EXPECT_THAT(read_error(ConfinedDir(tmp.path()), "../etc/passwd"), HasSubstr("leaves"));
}

TEST(ConfinedDir, RefusesLinksAnywhereInThePath) {
  TempDir tmp;
  fs::create_symlink("/etc/hostname", tmp.path() / "file-link");
  fs::create_directory_symlink("/etc", tmp.path() / "dir-link");
  const ConfinedDir dir(tmp.path());
  EXPECT_THAT(read_error(dir, "file-link"), HasSubstr("symbolic link"));
  EXPECT_THAT(read_error(dir, "dir-link/hostname"), HasSubstr("cannot be entered"));
}

TEST(ConfinedDir, RefusesFifosHardLinksAndOversizedFiles) {
  TempDir tmp;
  ASSERT_EQ(::mkfifo((tmp.path() / "pipe").c_str(), 0600), 0);
  std::ofstream(tmp.path() / "one") << "data";
  ASSERT_EQ(::link((tmp.path() / "one").c_str(), (tmp.path() / "two").c_str()), 0);
  std::ofstream(tmp.path() / "big") << std::string(2000, 'x');
  const ConfinedDir dir(tmp.path());
  EXPECT_THAT(read_error(dir, "pipe"), HasSubstr("FIFO"));  // and it did not block
  EXPECT_THAT(read_error(dir, "two"), HasSubstr("hard links"));
  EXPECT_THROW(dir.read_regular("big", 1000), Error);
}

TEST(ConfinedDir, ScanListsLinksWithoutEnteringThem) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "sub");
  std::ofstream(tmp.path() / "sub" / "x.txt") << "x";
  fs::create_directory_symlink("/etc", tmp.path() / "etc");
  const std::vector<DirEntry> entries = ConfinedDir(tmp.path()).scan(100);
  std::vector<std::string> names;
  for (const DirEntry& entry : entries) names.push_back(entry.relative);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"etc", "sub", "sub/x.txt"}));
  EXPECT_EQ(ConfinedDir(tmp.path()).scan(100, 1).size(), 2u);
}

TEST(ConfinedDir, NewFilesNeverReplaceWhatIsThere) {
  TempDir tmp;
  std::ofstream(tmp.path() / "target") << "precious";
  fs::create_symlink(tmp.path() / "target", tmp.path() / "link");
  const ConfinedDir dir(tmp.path());
  EXPECT_THROW(dir.write_new_file("link", "overwritten", 0644), Error);
  EXPECT_THROW(dir.write_new_file("target", "overwritten", 0644), Error);
  dir.write_new_file("fresh", "new", 0644);
  struct stat info {};
  ASSERT_EQ(::stat((tmp.path() / "fresh").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
  std::ifstream in(tmp.path() / "target");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious");
}

}  // namespace
}  // namespace mat::core

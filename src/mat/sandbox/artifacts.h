// Which files a step created or modified in the work dir: a stat of every regular file before and
// after the step, compared (one readdir + lstat per file; the work dir of a run is small).
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace mat::sandbox {

struct FileStamp {
  timespec mtime{};
  off_t size = 0;
  ino_t inode = 0;
  bool operator==(const FileStamp& other) const {
    return mtime.tv_sec == other.mtime.tv_sec && mtime.tv_nsec == other.mtime.tv_nsec &&
           size == other.size && inode == other.inode;
  }
};

// Regular files under `root` (symlinks are not followed), keyed by their path relative to root.
// Stops after kMaxScannedFiles entries so that a step that unpacks a huge archive cannot make
// every later step slow.
using DirSnapshot = std::unordered_map<std::string, FileStamp>;
inline constexpr size_t kMaxScannedFiles = 20'000;
DirSnapshot snapshot_files(const std::filesystem::path& root);

// Absolute paths of the files in `after` that are new or different from `before`, sorted.
std::vector<std::filesystem::path> changed_files(const DirSnapshot& before,
                                                 const DirSnapshot& after,
                                                 const std::filesystem::path& root);

}  // namespace mat::sandbox

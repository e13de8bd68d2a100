// Which files a step created or modified in the work dir: an lstat of every entry before and after
// the step, compared (one readdir + lstat per entry; the work dir of a run is small). The walk
// goes through core::ConfinedDir, so links the code planted are listed, never followed.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "mat/core/confined_dir.h"

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

struct Stamped {
  core::EntryKind kind = core::EntryKind::kOther;
  mode_t mode = 0;
  FileStamp stamp;
};

// Entries under `root` other than directories, keyed by their path relative to root. Stops after
// kMaxScannedFiles entries so that a step that unpacks a huge archive cannot make every later
// step slow.
using DirSnapshot = std::unordered_map<std::string, Stamped>;
inline constexpr size_t kMaxScannedFiles = 20'000;
DirSnapshot snapshot_files(const core::ConfinedDir& root);

struct Changes {
  std::vector<std::filesystem::path> files;  // regular files, absolute, sorted
  std::vector<std::string> others;  // "relative (symbolic link)", "relative (FIFO)", ... sorted
};

// What is new or different in `after` compared to `before`.
Changes changed_files(const DirSnapshot& before, const DirSnapshot& after,
                      const std::filesystem::path& root);

}  // namespace mat::sandbox

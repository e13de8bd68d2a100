// A folder whose contents an untrusted process writes (the sandbox's work dir). The host reaches
// into it only through file descriptors opened relative to the folder, one path component at a
// time with O_NOFOLLOW: a symbolic link planted anywhere in it is reported, never followed, and a
// FIFO, socket or device is never opened for reading (so it cannot block or leak host data).
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/unique_fd.h"

namespace mat::core {

enum class EntryKind { kRegular, kDirectory, kSymlink, kOther };

// "regular file", "directory", "symbolic link", "FIFO", "socket", "device", ...
std::string describe_file_type(mode_t mode);

struct DirEntry {
  std::string relative;  // path below the folder, '/'-separated
  EntryKind kind = EntryKind::kOther;
  mode_t mode = 0;  // type and permission bits, from lstat
  timespec mtime{};
  off_t size = 0;
  ino_t inode = 0;
  nlink_t links = 0;
};

class ConfinedDir {
 public:
  static constexpr size_t kMaxScanDepth = 32;

  // Opens `root` (trusted: the host chose it). Throws core::Error when it is not a directory.
  explicit ConfinedDir(const std::filesystem::path& root);

  const std::filesystem::path& path() const { return root_; }
  int fd() const { return fd_.get(); }

  // The entries below the folder, depth first, without following links; at most `max_entries`
  // (a step that unpacks a huge archive must not make every later step slow) and `max_depth`
  // levels (1: the folder's own entries; each level holds a descriptor open while it is read).
  std::vector<DirEntry> scan(size_t max_entries, size_t max_depth = kMaxScanDepth) const;

  // The bytes of the regular file at `relative`. Throws core::Error, naming `relative`, when a
  // component is a link, the file is not a regular file, has other hard links (it could be a
  // host file's second name) or is larger than `max_bytes`.
  std::string read_regular(std::string_view relative, size_t max_bytes) const;

  // Creates `relative` (its folder must exist and be a real folder) exclusively and writes
  // `bytes` to it. Throws core::Error when anything is in the way.
  void write_new_file(std::string_view relative, std::string_view bytes, mode_t mode) const;

 private:
  // The folder holding the last component of `relative`, reached without following links, and
  // that last component. Throws core::Error naming `relative`.
  std::pair<UniqueFd, std::string> open_parent(std::string_view relative) const;

  std::filesystem::path root_;
  UniqueFd fd_;
};

}  // namespace mat::core

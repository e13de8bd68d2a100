#include "mat/sandbox/artifacts.h"

#include <algorithm>

namespace mat::sandbox {

namespace fs = std::filesystem;

DirSnapshot snapshot_files(const core::ConfinedDir& root) {
  DirSnapshot files;
  for (const core::DirEntry& entry : root.scan(kMaxScannedFiles)) {
    if (entry.kind == core::EntryKind::kDirectory) continue;
    files.emplace(
        entry.relative,
        Stamped{entry.kind, entry.mode,
                FileStamp{.mtime = entry.mtime, .size = entry.size, .inode = entry.inode}});
  }
  return files;
}

Changes changed_files(const DirSnapshot& before, const DirSnapshot& after, const fs::path& root) {
  Changes changes;
  for (const auto& [relative, now] : after) {
    const auto previous = before.find(relative);
    if (previous != before.end() && previous->second.kind == now.kind &&
        previous->second.stamp == now.stamp) {
      continue;
    }
    if (now.kind == core::EntryKind::kRegular) {
      changes.files.push_back(root / relative);
    } else {
      changes.others.push_back(relative + " (" + core::describe_file_type(now.mode) + ")");
    }
  }
  std::sort(changes.files.begin(), changes.files.end());
  std::sort(changes.others.begin(), changes.others.end());
  return changes;
}

}  // namespace mat::sandbox

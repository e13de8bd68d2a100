#include "mat/sandbox/artifacts.h"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

namespace mat::sandbox {

namespace fs = std::filesystem;

DirSnapshot snapshot_files(const fs::path& root) {
  DirSnapshot files;
  std::error_code error;
  size_t scanned = 0;
  for (fs::recursive_directory_iterator
           it(root, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end && scanned < kMaxScannedFiles; it.increment(error), ++scanned) {
    if (!it->is_regular_file(error)) continue;  // from d_type: no stat for directories
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0) continue;  // removed while we looked
    files.emplace(it->path().lexically_relative(root).string(),
                  FileStamp{.mtime = info.st_mtim, .size = info.st_size, .inode = info.st_ino});
  }
  return files;
}

std::vector<fs::path> changed_files(const DirSnapshot& before, const DirSnapshot& after,
                                    const fs::path& root) {
  std::vector<fs::path> changed;
  for (const auto& [relative, stamp] : after) {
    const auto previous = before.find(relative);
    if (previous == before.end() || !(previous->second == stamp))
      changed.push_back(root / relative);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace mat::sandbox

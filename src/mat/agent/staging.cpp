#include "mat/agent/staging.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"

namespace mat::agent {

namespace fs = std::filesystem;

namespace {

// True when `file` is already the entry `name` of the work dir (a reused folder's own file).
bool already_in(const core::ConfinedDir& work_dir, const fs::path& file, const std::string& name) {
  struct stat original {};
  struct stat entry {};
  return ::stat(file.c_str(), &original) == 0 &&
         ::fstatat(work_dir.fd(), name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) == 0 &&
         original.st_dev == entry.st_dev && original.st_ino == entry.st_ino;
}

void write_host_copy(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  core::ConfinedDir(path.parent_path()).write_new_file(path.filename().string(), bytes, 0644);
}

}  // namespace

std::string shown_task_image(const FileRef& file) {
  return "shown/task/" + file.path;
}

std::vector<FileRef> stage_files(const std::vector<fs::path>& files,
                                 const core::ConfinedDir& work_dir, const fs::path& run_dir,
                                 core::ImageCache& images) {
  for (const fs::path& file : files) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      throw core::Error("attached file '" + file.string() + "' " +
                        (fs::exists(file, ec) ? "is not a regular file" : "does not exist") +
                        ": check the path given to --file");
    }
  }
  std::vector<FileRef> refs;
  std::set<std::string> taken;
  for (const fs::path& file : files) {
    std::string name = file.filename().string();
    for (int n = 2; !taken.insert(name).second; ++n) {
      name = std::to_string(n) + "_" + file.filename().string();
    }
    FileRef ref{name, file_type_of(file)};
    const bool in_place = already_in(work_dir, file, name);
    std::string bytes;
    if (!in_place || ref.type == "image") bytes = core::read_file(file);
    // A fresh copy, readable by the sandbox's uid whatever the original's mode; the original
    // itself is never touched.
    if (!in_place) work_dir.write_new_file(name, bytes, 0644);
    if (ref.type == "image") {
      try {
        core::check_image_budget(bytes, file.string(), images.limits());
        const fs::path shown = run_dir / shown_task_image(ref);
        write_host_copy(shown, bytes);
        images.get(shown);
      } catch (const core::Error& e) {
        throw core::Error(std::string("attached image cannot be used: ") + e.what());
      }
    }
    refs.push_back(std::move(ref));
  }
  return refs;
}

std::string snapshot_image(const core::ConfinedDir& work_dir, const std::string& relative,
                           const fs::path& run_dir, int step_index,
                           const core::ImageLimits& limits) {
  const std::string bytes = work_dir.read_regular(relative, limits.max_file_bytes);
  core::check_image_budget(bytes, relative, limits);
  std::string flat = relative;
  for (char& c : flat) {
    if (c == '/') c = '_';
  }
  const std::string shown = "shown/step-" + std::to_string(step_index) + "/" + flat;
  write_host_copy(run_dir / shown, bytes);
  return shown;
}

}  // namespace mat::agent

#include "mat/agent/staging.h"

#include <set>

#include "mat/core/error.h"

namespace mat::agent {

namespace fs = std::filesystem;

std::vector<FileRef> stage_files(const std::vector<fs::path>& files, const fs::path& work_dir,
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
    const fs::path target = work_dir / name;
    std::error_code ec;
    if (fs::absolute(file, ec).lexically_normal() != fs::absolute(target, ec).lexically_normal()) {
      fs::copy_file(file, target, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        throw core::Error("cannot copy attached file '" + file.string() + "' into '" +
                          work_dir.string() + "': " + ec.message());
      }
    }
    // The sandboxed worker runs under another uid: make the copy readable whatever the
    // original's mode was (a 0600 download would otherwise be invisible to the code).
    fs::permissions(target, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                    fs::perm_options::add, ec);
    FileRef ref{name, file_type_of(file)};
    if (ref.type == "image") {
      try {
        images.get(target);
      } catch (const core::Error& e) {
        throw core::Error(std::string("attached image cannot be used: ") + e.what());
      }
    }
    refs.push_back(std::move(ref));
  }
  return refs;
}

std::string snapshot_image(const fs::path& image, const fs::path& work_dir, int step_index) {
  const fs::path relative =
      fs::path(".mat") / "observations" /
      ("step-" + std::to_string(step_index) + "-" + image.filename().string());
  fs::create_directories(work_dir / relative.parent_path());
  fs::copy_file(image, work_dir / relative, fs::copy_options::overwrite_existing);
  return relative.string();
}

}  // namespace mat::agent

#include "run_paths.h"

#include <pwd.h>
#include <sys/stat.h>

#include <array>
#include <cstdlib>

#include "mat/sandbox/sandbox.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;

// The absolute, link-free form of `path`, as far as it exists.
fs::path resolved(const fs::path& path) {
  std::error_code error;
  fs::path out = fs::weakly_canonical(fs::absolute(path), error);
  return error ? fs::absolute(path).lexically_normal() : out;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  const fs::path relative = inner.lexically_relative(outer);
  return !relative.empty() && *relative.begin() != "..";
}

std::optional<fs::path> home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return fs::path(home);
  if (const passwd* user = ::getpwuid(::getuid()); user != nullptr) return fs::path(user->pw_dir);
  return std::nullopt;
}

}  // namespace

bool is_inside(const fs::path& inner, const fs::path& outer) {
  return is_within(resolved(inner), resolved(outer));
}

std::optional<std::string> forbidden_work_dir(const fs::path& dir) {
  const fs::path path = resolved(dir);
  const std::string quoted = "'" + dir.string() + "'";
  if (path == path.root_path()) return quoted + " is the root folder";
  static constexpr std::array kSystem = {
      "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/opt", "/proc", "/root",
      "/run", "/sbin", "/srv", "/sys", "/usr", "/var",   "/home",  "/tmp", "/mnt",  "/media"};
  for (const char* system : kSystem) {
    if (path == fs::path(system)) return quoted + " is a system folder";
  }
  for (const char* system :
       {"/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr"}) {
    if (is_within(path, system)) return quoted + " is inside the system folder " + system;
  }
  if (const auto home = home_dir(); home && path == resolved(*home)) {
    return quoted + " is a home folder";
  }
  if (path.parent_path() == "/home") return quoted + " is a home folder";
  return std::nullopt;
}

std::optional<std::string> bad_record_path(const fs::path& out, const fs::path& work_dir) {
  struct stat info {};
  const std::string quoted = "--out '" + out.string() + "'";
  if (::lstat(out.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    return quoted + " is a " +
           (S_ISLNK(info.st_mode)   ? std::string("symbolic link")
            : S_ISDIR(info.st_mode) ? std::string("folder")
                                    : std::string("device or special file")) +
           ": name a regular file (new or existing)";
  }
  if (is_inside(out, work_dir)) {
    return quoted +
           " is inside the work dir, where the model's code could replace it: put the "
           "record elsewhere";
  }
  return std::nullopt;
}

std::optional<std::string> unusable_work_dir(const fs::path& work_dir, bool reuse) {
  if (auto reason = forbidden_work_dir(work_dir)) {
    return "--workdir: " + *reason + "; give the run a folder of its own";
  }
  std::error_code error;
  if (!fs::exists(work_dir, error)) return std::nullopt;
  if (!fs::is_directory(work_dir, error)) {
    return "--workdir '" + work_dir.string() + "' exists and is not a folder";
  }
  if (fs::is_empty(work_dir, error)) return std::nullopt;
  if (!reuse) {
    return "--workdir '" + work_dir.string() +
           "' is not empty: pass --reuse-workdir to run in it anyway (its files stay read-only "
           "for the model's code), or name a new folder";
  }
  try {
    sandbox::reclaim_work_dir(work_dir);
  } catch (const std::exception& e) {
    return "--workdir: " + std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace mat::cli

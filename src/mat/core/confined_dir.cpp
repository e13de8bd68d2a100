#include "mat/core/confined_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "mat/core/error.h"

namespace mat::core {
namespace {

EntryKind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return EntryKind::kRegular;
  if (S_ISDIR(mode)) return EntryKind::kDirectory;
  if (S_ISLNK(mode)) return EntryKind::kSymlink;
  return EntryKind::kOther;
}

std::vector<std::string_view> components(std::string_view relative) {
  std::vector<std::string_view> parts;
  while (!relative.empty()) {
    const size_t slash = relative.find('/');
    const std::string_view part = relative.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    relative = slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
  }
  return parts;
}

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

void scan_into(int dir_fd, const std::string& prefix, size_t depth, size_t max_depth,
               size_t max_entries, std::vector<DirEntry>& out) {
  // A fresh open file description (dup would share the read position of an earlier scan);
  // fdopendir takes ownership of it, the caller keeps dir_fd.
  const int own_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own_fd < 0) return;
  const std::unique_ptr<DIR, DirCloser> dir(::fdopendir(own_fd));
  if (!dir) {
    ::close(own_fd);
    return;
  }
  while (out.size() < max_entries) {
    const dirent* item = ::readdir(dir.get());
    if (item == nullptr) return;
    const std::string_view name = item->d_name;
    if (name == "." || name == "..") continue;
    struct stat info {};
    if (::fstatat(dir_fd, item->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    DirEntry entry{.relative = prefix + std::string(name),
                   .kind = kind_of(info.st_mode),
                   .mode = info.st_mode,
                   .mtime = info.st_mtim,
                   .size = info.st_size,
                   .inode = info.st_ino,
                   .links = info.st_nlink};
    out.push_back(entry);
    if (entry.kind != EntryKind::kDirectory || depth + 1 >= max_depth) continue;
    const UniqueFd child(
        ::openat(dir_fd, item->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (child) {
      scan_into(child.get(), entry.relative + "/", depth + 1, max_depth, max_entries, out);
    }
  }
}

}  // namespace

std::string describe_file_type(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "device";
  return "special file";
}

ConfinedDir::ConfinedDir(const std::filesystem::path& root)
    : root_(root), fd_(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (!fd_) {
    throw Error("cannot open the folder '" + root.string() + "': " + std::strerror(errno));
  }
}

std::vector<DirEntry> ConfinedDir::scan(size_t max_entries, size_t max_depth) const {
  std::vector<DirEntry> entries;
  scan_into(fd_.get(), "", 0, max_depth, max_entries, entries);
  return entries;
}

std::pair<UniqueFd, std::string> ConfinedDir::open_parent(std::string_view relative) const {
  const std::vector<std::string_view> parts = components(relative);
  if (parts.empty()) throw Error("'" + std::string(relative) + "' names no file");
  UniqueFd dir(::dup(fd_.get()));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == "..") {
      throw Error("'" + std::string(relative) + "' leaves the working directory");
    }
    const std::string part(parts[i]);
    UniqueFd next(
        ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      throw Error("'" + std::string(relative) + "': the folder '" + part + "' cannot be entered (" +
                  (errno == ELOOP || errno == ENOTDIR ? "it is a link or not a folder"
                                                      : std::strerror(errno)) +
                  ")");
    }
    dir = std::move(next);
  }
  if (parts.back() == "..") {
    throw Error("'" + std::string(relative) + "' leaves the working directory");
  }
  return {std::move(dir), std::string(parts.back())};
}

std::string ConfinedDir::read_regular(std::string_view relative, size_t max_bytes) const {
  const auto [dir, name] = open_parent(relative);
  const std::string quoted = "'" + std::string(relative) + "'";
  struct stat info {};
  if (::fstatat(dir.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    throw Error(quoted + " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    throw Error(quoted + " is a " + describe_file_type(info.st_mode) +
                ", not a regular file: it is not read");
  }
  // O_NONBLOCK: should the name be swapped for a FIFO after the check, open must not hang.
  const UniqueFd file(
      ::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!file || ::fstat(file.get(), &info) != 0) {
    throw Error(quoted + " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    throw Error(quoted + " is a " + describe_file_type(info.st_mode) +
                ", not a regular file: it is not read");
  }
  if (info.st_nlink > 1) {
    throw Error(quoted + " has " + std::to_string(info.st_nlink) +
                " hard links: it is not read (save a copy of the file instead)");
  }
  if (static_cast<size_t>(info.st_size) > max_bytes) {
    throw Error(quoted + " is " + std::to_string(info.st_size) + " bytes, more than the " +
                std::to_string(max_bytes) + " allowed");
  }
  std::string bytes(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(file.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(quoted + " cannot be read: " + std::strerror(errno));
    if (n == 0) break;  // shrank while we read: keep what is there
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

void ConfinedDir::write_new_file(std::string_view relative, std::string_view bytes,
                                 mode_t mode) const {
  const auto [dir, name] = open_parent(relative);
  const std::string quoted = "'" + (root_ / relative).string() + "'";
  const UniqueFd file(::openat(dir.get(), name.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!file) throw Error("cannot create " + quoted + ": " + std::strerror(errno));
  while (!bytes.empty()) {
    const ssize_t n = ::write(file.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("writing " + quoted + " failed: " + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  // The umask may have narrowed the mode: the sandbox's uid must be able to read attached files.
  ::fchmod(file.get(), mode);
}

}  // namespace mat::core

// Where `mat run` puts a run, and the checks that keep it from pointing the sandbox, or the host's
// own writes, at the wrong place. Every check fails with a message for the user (exit 2) before
// the run starts.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace mat::cli {

// Whether `inner` is `outer` or lies below it, links resolved as far as the paths exist.
bool is_inside(const std::filesystem::path& inner, const std::filesystem::path& outer);

// Why `dir` must not be a work dir (the root, a system folder, a home folder), or nullopt.
std::optional<std::string> forbidden_work_dir(const std::filesystem::path& dir);

// Why the trajectory record cannot be written to `out`, or nullopt: it must be a regular file or
// not exist yet (a device, a folder or a link is refused), and must not lie inside `work_dir`,
// where the model's code could replace it.
std::optional<std::string> bad_record_path(const std::filesystem::path& out,
                                           const std::filesystem::path& work_dir);

// Why `work_dir` cannot be used, or nullopt. A folder that exists and holds anything is refused
// unless `reuse` (then its files are bound read-only for the run and files a killed run left owned
// by a sandbox uid are handed back first).
std::optional<std::string> unusable_work_dir(const std::filesystem::path& work_dir, bool reuse);

}  // namespace mat::cli

// How the worker is confined: the bubblewrap command line, the seccomp filter, the unprivileged
// uid a root host runs it as, the environment, and the probe behind isolation_problem().
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "mat/core/unique_fd.h"
#include "mat/sandbox/child_process.h"

namespace mat::sandbox {

using core::UniqueFd;

inline constexpr int kControlFd = 3;  // the worker's end of the control socket (worker.py agrees)
inline constexpr int kSeccompFd = 4;  // bwrap reads the filter from here

struct WorkerLaunch {
  std::filesystem::path python;
  std::string_view worker_source;  // worker.py, run with `python -c`
  std::filesystem::path work_dir;  // absolute; the cwd and the one writable place
  std::vector<std::filesystem::path> readable_paths;  // absolute; bound read-only
  size_t tmp_bytes = 0;                               // size of the private /tmp
  bool isolated = true;                               // false: --unsafe-no-sandbox
  std::optional<uid_t> run_as;  // root host: the unprivileged uid the worker drops to
  std::filesystem::path home;   // not isolated: a private HOME/TMPDIR (inside, /tmp serves)
};

// The worker's command line and environment; the caller adds its fds (stdio and the control
// socket) to `spec.fds`. `seccomp` must stay open until the process is spawned.
struct PreparedLaunch {
  SpawnSpec spec;
  UniqueFd seccomp;
  bool via_bwrap = false;
};
// Throws core::Error when bwrap, setpriv or the seccomp filter are unavailable.
PreparedLaunch prepare_launch(const WorkerLaunch& launch);

// On a root host the worker runs as an unprivileged uid of its own (isolation.cpp says why); the
// work dir is handed to that uid for the Sandbox's lifetime, and it and the files the worker
// created are given back to the folder's owner afterwards.
class WorkDirLease {
 public:
  explicit WorkDirLease(const std::filesystem::path& work_dir);  // throws core::Error
  ~WorkDirLease();
  WorkDirLease(const WorkDirLease&) = delete;
  WorkDirLease& operator=(const WorkDirLease&) = delete;

  uid_t uid() const { return uid_; }

 private:
  std::filesystem::path work_dir_;
  uid_t uid_ = 0;
  uid_t owner_ = 0;
  gid_t group_ = 0;
  mode_t mode_ = 0;
};

}  // namespace mat::sandbox

// Isolation, layer by layer:
//
// * bubblewrap: new pid, network, ipc, uts (and cgroup) namespaces, so the worker sees only its own
//   processes and has no network but loopback; a fresh root holding /usr, /etc and the /bin-style
//   links read-only, a private size-capped tmpfs on /tmp, a minimal /proc and /dev, the work dir
//   read-write and the attached paths read-only; --die-with-parent and --new-session.
// * seccomp (libseccomp, handed to bwrap with --seccomp): socket() fails with EACCES for every
//   family but AF_UNIX, and a few kernel interfaces Python code has no use for are closed.
// * rlimits on CPU time, address space, file size and process count, set by the worker itself
//   before any model code runs (worker.py `_apply_limits`).
// * the fork bomb. RLIMIT_NPROC is never enforced for uid 0 (the kernel exempts the init user and
//   holders of CAP_SYS_RESOURCE/CAP_SYS_ADMIN), and a user namespace does not help when root
//   creates it: the sandbox's uid still maps to kuid 0. So on a root host bwrap runs privileged
//   (it can bind any path, even under /root) with every capability dropped except the three
//   setpriv needs, and setpriv switches to an unprivileged uid before exec'ing Python. That uid is
//   picked per Sandbox (a kernel counts RLIMIT_NPROC per uid, so sandboxes sharing one uid would
//   share one budget and a fork bomb in one would starve the others), and the work dir is lent to
//   it. Rootless containers map only 65536 uids; there the lease falls back to nobody (65534).
//   On a non-root host bwrap creates a user namespace (--unshare-user, --disable-userns against
//   nested ones); since Linux 5.14 RLIMIT_NPROC is counted per user namespace, so the limit the
//   worker sets after start-up applies to this sandbox alone. Either way worker.py also kills
//   whatever processes a step leaves behind (kill(-1) inside the pid namespace).
#include "mat/sandbox/isolation.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "mat/core/confined_dir.h"
#include "mat/core/error.h"
#include "mat/sandbox/sandbox.h"

namespace mat::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultPython = "/usr/bin/python3";
constexpr uid_t kNobody = 65534;
// Per-Sandbox uids for root hosts come from [kUidBase, kUidBase + kUidSpan): far above the uids
// that /etc/passwd and systemd's dynamic users hand out, below 2^31 for tools that use int.
constexpr uid_t kUidBase = 1'800'000'000;
constexpr uid_t kUidSpan = 300'000'000;

bool host_is_root() {
  return ::geteuid() == 0;
}

// The first executable `name` on PATH (or the usual system folders when PATH is unset).
fs::path find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const fs::path candidate = fs::path(dirs.substr(0, colon)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return {};
}

// The BPF program, built once per process.
const std::string& seccomp_program() {
  static const std::string program = [] {
    const std::unique_ptr<void, void (*)(scmp_filter_ctx)> context(seccomp_init(SCMP_ACT_ALLOW),
                                                                   seccomp_release);
    if (!context) throw core::Error("libseccomp could not create a filter (out of memory?)");
    scmp_filter_ctx filter = context.get();
    int rc = 0;
    const auto deny = [&](int action, int syscall, std::initializer_list<scmp_arg_cmp> args) {
      if (rc == 0) {
        rc = seccomp_rule_add_array(filter, action, syscall, static_cast<unsigned>(args.size()),
                                    args.size() ? args.begin() : nullptr);
      }
    };
    // No network sockets; AF_UNIX stays (the control channel is one, and libraries use them).
    // The comparisons are spelt out rather than made with libseccomp's SCMP_A0 macro, a C99
    // compound literal that clang rejects in C++ with -Werror.
    deny(SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
         {scmp_arg_cmp{.arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0}});
    // io_uring can open sockets without calling socket().
    for (int call :
         {SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register)}) {
      deny(SCMP_ACT_ERRNO(EPERM), call, {});
    }
    // A new user namespace would hand the model's code a full set of capabilities inside it. The
    // filter cannot read clone3's flags (they are in memory), so clone3 answers ENOSYS and glibc
    // falls back to clone, whose flags it can check.
    const scmp_arg_cmp new_user{
        .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_NEWUSER, .datum_b = CLONE_NEWUSER};
    deny(SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), {new_user});
    deny(SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), {new_user});
    deny(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), {});
    // Kernel interfaces with a long record of exploits and no use in data-analysis code.
    for (int call : {SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
                     SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key)}) {
      deny(SCMP_ACT_ERRNO(EPERM), call, {});
    }
    if (rc != 0) {
      throw core::Error(std::string("libseccomp rejected a sandbox rule: ") + std::strerror(-rc));
    }
    const UniqueFd memory(::memfd_create("mat-seccomp", MFD_CLOEXEC));
    if (!memory || seccomp_export_bpf(filter, memory.get()) != 0) {
      throw core::Error("libseccomp could not export the sandbox's filter");
    }
    std::string bytes(static_cast<size_t>(::lseek(memory.get(), 0, SEEK_END)), '\0');
    if (::pread(memory.get(), bytes.data(), bytes.size(), 0) !=
        static_cast<ssize_t>(bytes.size())) {
      throw core::Error("reading back the exported seccomp filter failed");
    }
    return bytes;
  }();
  return program;
}

// A fresh fd per start: bwrap reads the program to the end, moving a shared offset.
UniqueFd seccomp_fd() {
  const std::string& program = seccomp_program();
  UniqueFd fd(::memfd_create("mat-seccomp", MFD_CLOEXEC));
  if (!fd ||
      ::write(fd.get(), program.data(), program.size()) != static_cast<ssize_t>(program.size())) {
    throw core::Error(std::string("cannot hand the seccomp filter to bwrap: ") +
                      std::strerror(errno));
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::vector<std::string> worker_environment(const std::string& home) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "TMPDIR=" + home, "LANG=C.UTF-8",
          "MPLBACKEND=Agg",  // no display here
          "MPLCONFIGDIR=" + home + "/.matplotlib",
          // Two cores shared with the host: one thread per numeric library avoids oversubscription.
          "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1",
          "NUMEXPR_NUM_THREADS=1"};
}

size_t depth(const fs::path& path) {
  return static_cast<size_t>(std::distance(path.begin(), path.end()));
}

// bwrap and its options, up to the command.
std::vector<std::string> bwrap_arguments(const fs::path& bwrap, const fs::path& work_dir,
                                         const std::vector<fs::path>& readable, size_t tmp_bytes) {
  std::vector<std::string> args = {bwrap.string(),  "--unshare-pid", "--unshare-net",
                                   "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                                   "--hostname",    "mat-sandbox",   "--die-with-parent",
                                   "--new-session"};
  if (host_is_root()) {
    args.insert(args.end(), {"--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add",
                             "CAP_SETGID", "--cap-add", "CAP_SETPCAP"});
  } else {
    args.insert(args.end(), {"--unshare-user", "--disable-userns"});
  }
  args.insert(args.end(), {"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"});
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code error;
    if (fs::is_symlink(top, error)) {
      args.insert(args.end(), {"--symlink", fs::read_symlink(top, error).string(), top});
    } else if (fs::is_directory(top, error)) {
      args.insert(args.end(), {"--ro-bind", top, top});
    }
  }
  args.insert(args.end(), {"--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size",
                           std::to_string(tmp_bytes), "--tmpfs", "/tmp"});
  std::vector<std::pair<fs::path, bool>> binds;
  for (const fs::path& path : readable) binds.emplace_back(path, false);
  if (!work_dir.empty()) binds.emplace_back(work_dir, true);
  // bwrap would create the folders leading to a bind mode 0700 and owned by root, out of the
  // worker's reach; create them traversable first (a std::set lists parents before children).
  std::set<fs::path> parents;
  for (const auto& [path, writable] : binds) {
    for (fs::path p = path.parent_path(); p != p.root_path(); p = p.parent_path())
      parents.insert(p);
  }
  for (const fs::path& parent : parents) {
    args.insert(args.end(), {"--perms", "0755", "--dir", parent.string()});
  }
  // Parents before children, so that a path nested in another bind stays visible.
  std::stable_sort(binds.begin(), binds.end(),
                   [](const auto& a, const auto& b) { return depth(a.first) < depth(b.first); });
  for (const auto& [path, writable] : binds) {
    args.insert(args.end(), {writable ? "--bind" : "--ro-bind", path.string(), path.string()});
  }
  // The new root is a tmpfs the worker's uid owns on a non-root host: make it read-only too, so
  // that the work dir and /tmp are the only writable places in every mode.
  args.insert(args.end(), {"--remount-ro", "/"});
  // No --chdir: bwrap changes directory after dropping its capabilities, when a root without
  // CAP_DAC_OVERRIDE may not enter a work dir lent to the worker's uid; the worker enters it.
  args.insert(args.end(), {"--seccomp", std::to_string(kSeccompFd), "--"});
  return args;
}

// On a root host: switch to `uid` (no groups, no capabilities left) before exec'ing Python.
std::vector<std::string> setpriv_arguments(const fs::path& setpriv, uid_t uid) {
  const std::string id = std::to_string(uid);
  return {setpriv.string(),      "--reuid", id, "--regid", id, "--clear-groups", "--inh-caps=-all",
          "--bounding-set=-all", "--"};
}

fs::path require_program(const std::string& name, const std::string& install_hint) {
  fs::path program = find_program(name);
  if (program.empty()) {
    throw core::Error(name + " was not found on PATH; " + install_hint);
  }
  return program;
}

constexpr const char* kBwrapHint =
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
    "bubblewrap`)";
constexpr const char* kSetprivHint =
    "install util-linux (Debian/Ubuntu: `apt-get install util-linux`)";

// The sandboxed command line for `python_command`; `work_dir` may be empty (the probe).
PreparedLaunch prepare_isolated(const fs::path& work_dir, const std::vector<fs::path>& readable,
                                size_t tmp_bytes, uid_t run_as,
                                const std::vector<std::string>& python_command) {
  PreparedLaunch prepared;
  prepared.via_bwrap = true;
  prepared.spec.argv =
      bwrap_arguments(require_program("bwrap", kBwrapHint), work_dir, readable, tmp_bytes);
  if (host_is_root()) {
    const std::vector<std::string> drop =
        setpriv_arguments(require_program("setpriv", kSetprivHint), run_as);
    prepared.spec.argv.insert(prepared.spec.argv.end(), drop.begin(), drop.end());
  }
  prepared.spec.argv.insert(prepared.spec.argv.end(), python_command.begin(), python_command.end());
  prepared.spec.env = worker_environment("/tmp");
  prepared.seccomp = seccomp_fd();
  prepared.spec.fds.emplace_back(prepared.seccomp.get(), kSeccompFd);
  return prepared;
}

// Reads what is buffered in a pipe whose writer has exited.
std::string drain(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  return text;
}

// Starts a sandbox exactly as for a worker and checks, from inside, that an AF_INET socket is
// refused. Returns what is wrong, or nullopt.
std::optional<std::string> probe() {
  if (::access(kDefaultPython, X_OK) != 0) {
    return std::string(kDefaultPython) +
           " is missing: install Python 3 (Debian/Ubuntu: `apt-get install python3`)";
  }
  constexpr const char* kCheck =
      "import _socket\n"
      "try:\n"
      "    _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)\n"
      "except PermissionError:\n"
      "    raise SystemExit(0)\n"
      "raise SystemExit(3)\n";
  PreparedLaunch prepared;
  try {
    prepared = prepare_isolated({}, {}, size_t{16} << 20, kNobody,
                                {kDefaultPython, "-I", "-S", "-c", kCheck});
  } catch (const core::Error& e) {
    return e.what();
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return std::string("cannot create a pipe to probe the sandbox: ") + std::strerror(errno);
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  prepared.spec.fds.insert(prepared.spec.fds.end(), {{write_end.get(), 1}, {write_end.get(), 2}});
  std::optional<ChildProcess> child;
  try {
    child.emplace(ChildProcess::spawn(prepared.spec));
  } catch (const core::Error& e) {
    return e.what();
  }
  write_end.reset();
  std::optional<int> status = child->wait_for(std::chrono::seconds(20));
  if (!status) status = child->kill();
  const ExitStatus exit = exit_status(*status, true);
  if (exit.signal == 0 && exit.code == 0) return std::nullopt;
  if (exit.signal == 0 && exit.code == 3) {
    return std::string(
        "the seccomp filter did not take effect inside bubblewrap (a socket could still be "
        "opened): the kernel needs CONFIG_SECCOMP_FILTER");
  }
  std::string said = drain(read_end.get());
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  return "bubblewrap could not set up the sandbox (" +
         (said.empty() ? std::string("no message") : "\"" + said + "\"") +
         "). If user namespaces are disabled, enable them: `sysctl -w "
         "kernel.unprivileged_userns_clone=1` (Debian kernels), `sysctl -w "
         "user.max_user_namespaces=15000`, on Ubuntu 24.04+ `sysctl -w "
         "kernel.apparmor_restrict_unprivileged_userns=0`; inside Docker run the container with "
         "--privileged, or with --security-opt seccomp=unconfined --security-opt "
         "apparmor=unconfined";
}

}  // namespace

PreparedLaunch prepare_launch(const WorkerLaunch& launch) {
  const std::vector<std::string> python = {launch.python.string(), "-I", "-B", "-c",
                                           std::string(launch.worker_source)};
  if (launch.isolated) {
    return prepare_isolated(launch.work_dir, launch.readable_paths, launch.tmp_bytes,
                            launch.run_as.value_or(kNobody), python);
  }
  PreparedLaunch prepared;
  prepared.spec.argv = python;
  prepared.spec.env = worker_environment(launch.home.string());
  return prepared;
}

std::optional<std::string> isolation_problem() {
  static const std::optional<std::string> problem = probe();
  return problem;
}

WorkDirLease::WorkDirLease(const fs::path& work_dir) : work_dir_(work_dir) {
  struct stat info {};
  if (::stat(work_dir.c_str(), &info) != 0) {
    throw core::Error("cannot read the owner of the work dir '" + work_dir.string() +
                      "': " + std::strerror(errno));
  }
  owner_ = info.st_uid;
  group_ = info.st_gid;
  mode_ = info.st_mode & 07777;
  static std::atomic<uid_t> counter{0};
  uid_ = kUidBase + (static_cast<uid_t>(::getpid()) * 64 + counter++) % kUidSpan;
  int rc = ::chown(work_dir.c_str(), uid_, static_cast<gid_t>(-1));
  if (rc != 0 && errno == EINVAL) {
    uid_ = kNobody;  // the uid is not mapped in this (rootless) container
    rc = ::chown(work_dir.c_str(), uid_, static_cast<gid_t>(-1));
  }
  if (rc != 0) {
    throw core::Error("cannot lend the work dir '" + work_dir.string() + "' to the sandbox's uid " +
                      std::to_string(uid_) + ": " + std::strerror(errno) +
                      "; use a work dir on a local file system that root may chown");
  }
}

namespace {

// Hands every entry of `dir` owned by a uid for which `lent` is true, and `dir` itself, back to
// owner:group. Walks by descriptor without following links; the sandbox is gone by then.
size_t give_back(const fs::path& dir, const std::function<bool(uid_t)>& lent, uid_t owner,
                 gid_t group) {
  constexpr size_t kMaxEntries = 1'000'000;
  size_t changed = 0;
  const core::ConfinedDir root(dir);
  const auto hand_back = [&](const char* relative, uid_t uid) {
    if (lent(uid) && ::fchownat(root.fd(), relative, owner, group, AT_SYMLINK_NOFOLLOW) == 0) {
      ++changed;
    }
  };
  for (const core::DirEntry& entry : root.scan(kMaxEntries)) {
    struct stat info {};
    if (::fstatat(root.fd(), entry.relative.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0) {
      hand_back(entry.relative.c_str(), info.st_uid);
    }
  }
  struct stat info {};
  if (::fstat(root.fd(), &info) == 0 && lent(info.st_uid)) {
    if (::fchown(root.fd(), owner, group) == 0) ++changed;
  }
  return changed;
}

bool is_sandbox_uid(uid_t uid) {
  return uid >= kUidBase && uid < kUidBase + kUidSpan;
}

}  // namespace

WorkDirLease::~WorkDirLease() {
  // Hand back the folder and what the worker created in it, so that the host (and a later
  // Sandbox with another uid) finds ordinary files, and undo a chmod of the folder by the code.
  // Failures leave files root can still use.
  try {
    give_back(
        work_dir_, [this](uid_t uid) { return uid == uid_; }, owner_, group_);
    const core::ConfinedDir folder(work_dir_);
    [[maybe_unused]] const int rc = ::fchmod(folder.fd(), mode_);
  } catch (const core::Error&) {  // the folder itself is gone: nothing to hand back
  }
}

size_t reclaim_work_dir(const fs::path& work_dir) {
  if (!host_is_root()) return 0;  // without root no sandbox uid was ever lent anything
  struct stat parent {};
  const fs::path above = fs::absolute(work_dir).parent_path();
  if (::stat(above.c_str(), &parent) != 0) {
    throw core::Error("cannot read the owner of '" + above.string() + "': " + std::strerror(errno));
  }
  return give_back(work_dir, is_sandbox_uid, parent.st_uid, parent.st_gid);
}

}  // namespace mat::sandbox

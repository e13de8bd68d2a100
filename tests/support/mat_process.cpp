#include "support/mat_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "mat/core/temp_dir.h"

namespace mat::testing {
namespace {

std::string mat_command(const std::string& args, const std::string& env) {
  return "env -u OPENAI_BASE_URL -u OPENAI_API_KEY -u MAT_MODEL " + env +
         " " MAT_BINARY_DIR "/mat " + args;
}

// Absent before the first checkpoint, then replaced atomically: never half-written.
core::Json read_record(const std::filesystem::path& record) {
  std::ifstream in(record);
  const core::Json json = core::Json::parse(in, nullptr, /*allow_exceptions=*/false);
  return json.is_object() ? json : core::Json::object();
}

}  // namespace

MatOutcome run_mat(const std::string& args, const std::string& env) {
  core::TempDir scratch;
  const std::filesystem::path stderr_file = scratch.path() / "stderr.txt";
  const std::string command = mat_command(args, env) + " 2>" + stderr_file.string();
  MatOutcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    outcome.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.output += core::read_file(stderr_file);
  return outcome;
}

SignalledRun signal_once_recorded(const std::string& args, const std::string& env,
                                  const std::filesystem::path& record, std::size_t steps,
                                  int signal) {
  core::TempDir scratch;
  const std::filesystem::path stderr_file = scratch.path() / "stderr.txt";
  // `exec` all the way down, so that the pid is mat's and the signal reaches mat itself.
  const std::string command =
      "exec " + mat_command(args, env) + " >/dev/null 2>" + stderr_file.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    ::_exit(127);
  }
  SignalledRun run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool exited = false;  // on its own: the test says how
  while (!exited && std::chrono::steady_clock::now() < deadline &&
         read_record(record).value("steps", core::Json::array()).size() < steps) {
    exited = ::waitpid(pid, &run.wait_status, WNOHANG) == pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    ::kill(pid, signal);
    ::waitpid(pid, &run.wait_status, 0);
  }
  run.record = read_record(record);
  run.stderr_text = core::read_file(stderr_file);
  return run;
}

}  // namespace mat::testing

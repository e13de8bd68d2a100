// The sandboxed Python worker end to end: persistence, limits, isolation, tools, errors.
#include "mat/sandbox/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"

namespace mat::sandbox {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Test folders live under /var/tmp rather than /tmp: the sandbox has a private /tmp, where
// writing next to the work dir would succeed (harmlessly, but the test wants to see ../ refused).
constexpr const char* kTestRoot = "/var/tmp";

std::vector<std::string> allowed_plus(const std::string& module) {
  std::vector<std::string> modules = default_allowed_imports();
  modules.push_back(module);
  return modules;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.work_dir = work_dir_;
    options_.limits.step_wall = std::chrono::seconds(30);
  }
  Sandbox make(ToolHandler tools = {}) { return Sandbox(options_, std::move(tools)); }

  core::TempDir work_dir_holder_{"mat-sandbox-work", kTestRoot};
  const fs::path& work_dir_ = work_dir_holder_.path();
  Options options_;
};

TEST_F(SandboxTest, IsolationIsAvailableOnThisMachine) {
  EXPECT_EQ(isolation_problem(), std::nullopt) << isolation_problem().value_or("");
}

TEST_F(SandboxTest, VariablesAndImportsPersistBetweenSteps) {
  Sandbox box = make();
  const ExecResult first = box.execute("import math\nx = 41");
  EXPECT_EQ(first.error, std::nullopt);
  EXPECT_EQ(first.output, "");  // no print, no output: the agent adds the print() hint
  const ExecResult second = box.execute("print(x + 1, math.floor(math.pi))");
  EXPECT_EQ(second.error, std::nullopt);
  EXPECT_EQ(second.output, "42 3\n");
  EXPECT_GT(second.exec_ms, 0);
}

TEST_F(SandboxTest, EndlessLoopIsStoppedAndTheNextStepRunsInAFreshWorker) {
  options_.limits.step_wall = std::chrono::seconds(1);
  Sandbox box = make();
  ASSERT_EQ(box.execute("x = 5").error, std::nullopt);
  const ExecResult looped = box.execute("print('started')\nwhile True:\n    pass");
  EXPECT_TRUE(looped.timed_out);
  EXPECT_TRUE(looped.worker_restarted);
  EXPECT_EQ(looped.output, "started\n");
  ASSERT_TRUE(looped.error.has_value());
  EXPECT_THAT(*looped.error, HasSubstr("limit of 1 s"));
  EXPECT_THAT(*looped.error,
              HasSubstr("variables, imports and functions from earlier steps are lost"));
  const ExecResult after = box.execute("print(x)");
  EXPECT_FALSE(after.timed_out);
  ASSERT_TRUE(after.error.has_value());
  EXPECT_THAT(*after.error, HasSubstr("NameError: name 'x' is not defined"));
  EXPECT_EQ(box.execute("print('fresh')").output, "fresh\n");
}

TEST_F(SandboxTest, MemoryBombsBecomeMemoryError) {
  options_.limits.address_space_mb = 1024;
  Sandbox box = make();
  const ExecResult huge = box.execute("x = bytearray(10**11)");
  ASSERT_TRUE(huge.error.has_value());
  EXPECT_THAT(*huge.error, HasSubstr("MemoryError"));
  const ExecResult growing =
      box.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 2**20))");
  ASSERT_TRUE(growing.error.has_value());
  EXPECT_THAT(*growing.error, HasSubstr("MemoryError"));
  EXPECT_FALSE(growing.worker_restarted);
  EXPECT_EQ(box.execute("chunks = None\nprint('ok')").output, "ok\n");
}

TEST_F(SandboxTest, NetworkSocketsAreRefusedButUnixSocketsWork) {
  options_.allowed_imports = allowed_plus("socket");
  Sandbox box = make();
  for (const char* family : {"AF_INET", "AF_INET6", "AF_PACKET", "AF_NETLINK"}) {
    const ExecResult r = box.execute(std::string("import socket\nsocket.socket(socket.") + family +
                                     ", socket.SOCK_DGRAM)");
    ASSERT_TRUE(r.error.has_value()) << family;
    EXPECT_THAT(*r.error, HasSubstr("PermissionError")) << family;
  }
  const ExecResult unix_socket =
      box.execute("a, b = socket.socketpair()\na.sendall(b'hi')\nprint(b.recv(2))");
  EXPECT_EQ(unix_socket.error, std::nullopt);
  EXPECT_EQ(unix_socket.output, "b'hi'\n");
}

TEST_F(SandboxTest, WritesOutsideTheWorkDirFailAndInsideBecomeArtifacts) {
  const char* home = std::getenv("HOME");
  const core::TempDir outside_dir("mat-sandbox-outside",
                                  kTestRoot);  // exists on the host, not in the sandbox
  const fs::path& outside = outside_dir.path();
  const std::vector<fs::path> targets = {"/usr/mat-x",
                                         "/etc/mat-x",
                                         fs::path(home != nullptr ? home : "/root") / "mat-x",
                                         work_dir_ / ".." / "mat-x",
                                         outside / "mat-x",
                                         "/mat-x"};
  Sandbox box = make();
  for (const fs::path& target : targets) {
    const ExecResult r = box.execute("try:\n    open(" + core::Json(target.string()).dump() +
                                     ", 'w').write('x')\n    print('written')\n"
                                     "except OSError as e:\n    print('refused')");
    EXPECT_EQ(r.output, "refused\n") << target;
    EXPECT_FALSE(fs::exists(target)) << target;
  }
  const ExecResult inside = box.execute(
      "import pathlib\nopen('result.txt', 'w').write('42')\npathlib.Path('out').mkdir()\n"
      "open('out/table.csv', 'w').write('a,b')\nprint(open('result.txt').read())");
  EXPECT_EQ(inside.error, std::nullopt);
  EXPECT_EQ(inside.output, "42\n");
  const fs::path root = fs::canonical(work_dir_);
  EXPECT_EQ(inside.artifacts,
            (std::vector<fs::path>{root / "out" / "table.csv", root / "result.txt"}));
  EXPECT_TRUE(box.execute("x = open('result.txt').read()").artifacts.empty());  // read, not written
}

TEST_F(SandboxTest, FilesTheWorkerWroteAreHandedBackAfterwards) {
  {
    Sandbox box = make();
    ASSERT_EQ(box.execute("open('made.txt', 'w').write('x')").error, std::nullopt);
  }
  struct stat info {};
  ASSERT_EQ(::stat((work_dir_ / "made.txt").c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, ::geteuid());
  ASSERT_EQ(::stat(work_dir_.c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, ::geteuid());
}

TEST_F(SandboxTest, ReadablePathsCanBeReadButNotWritten) {
  const core::TempDir attached_dir("mat-sandbox-attached", kTestRoot);
  const fs::path attached = attached_dir.path() / "data.txt";
  std::ofstream(attached) << "attached content";
  // Writable by anyone on the host: only the read-only bind can refuse the write.
  fs::permissions(attached, fs::perms::all);
  options_.readable_paths = {attached};
  Sandbox box = make();
  const std::string path = core::Json(attached.string()).dump();
  EXPECT_EQ(box.execute("print(open(" + path + ").read())").output, "attached content\n");
  const ExecResult write = box.execute("open(" + path + ", 'a').write('x')");
  ASSERT_TRUE(write.error.has_value());
  EXPECT_THAT(*write.error, HasSubstr("Read-only file system"));
}

TEST_F(SandboxTest, ForkBombIsContained) {
  options_.allowed_imports = allowed_plus("os");
  options_.limits.max_processes = 32;
  options_.limits.step_wall = std::chrono::seconds(15);
  Sandbox box = make();
  // Uncontained, the bomb would run into the step's time limit; contained, fork() soon fails.
  const ExecResult bomb = box.execute("import os\nwhile True:\n    os.fork()");
  EXPECT_FALSE(bomb.timed_out);
  ASSERT_TRUE(bomb.error.has_value());
  EXPECT_THAT(*bomb.error, HasSubstr("BlockingIOError"));
  // The host is fine, the next step works, and nothing the bomb started is left running: the
  // sandbox's pid namespace holds only bwrap's init and the worker.
  const ExecResult after =
      box.execute("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))");
  EXPECT_EQ(after.error, std::nullopt);
  EXPECT_EQ(after.output, "[1, 2]\n");
}

TEST_F(SandboxTest, CrashedWorkerIsRestarted) {
  options_.allowed_imports = allowed_plus("os");
  Sandbox box = make();
  ASSERT_EQ(box.execute("kept = 1").error, std::nullopt);
  const ExecResult crash = box.execute("import os\nos.kill(os.getpid(), 11)");
  EXPECT_TRUE(crash.worker_restarted);
  EXPECT_FALSE(crash.timed_out);
  ASSERT_TRUE(crash.error.has_value());
  EXPECT_THAT(*crash.error, HasSubstr("signal 11"));
  EXPECT_THAT(*crash.error, HasSubstr("lost"));
  EXPECT_THAT(*box.execute("print(kept)").error, HasSubstr("NameError"));
}

TEST_F(SandboxTest, StartingVariablesAreDefinedAgainAfterARestart) {
  options_.allowed_imports = allowed_plus("os");
  options_.variables["attached_files"] = core::Json::array({"a.png", "two words.pdf"});
  options_.variables["limit"] = 3;
  Sandbox box = make();
  EXPECT_EQ(box.execute("print(attached_files[1], limit + 1)").output, "two words.pdf 4\n");
  ASSERT_EQ(box.execute("attached_files.clear()").error, std::nullopt);
  ASSERT_TRUE(box.execute("import os\nos.kill(os.getpid(), 11)").worker_restarted);
  EXPECT_EQ(box.execute("print(attached_files)").output, "['a.png', 'two words.pdf']\n");
}

TEST_F(SandboxTest, CpuTimeBudgetEndsTheWorker) {
  options_.limits.cpu_seconds = 1;
  Sandbox box = make();
  const ExecResult spin = box.execute("while True:\n    pass");
  EXPECT_FALSE(spin.timed_out);
  EXPECT_TRUE(spin.worker_restarted);
  ASSERT_TRUE(spin.error.has_value());
  EXPECT_THAT(*spin.error, HasSubstr("CPU-time budget of 1 s"));
  EXPECT_EQ(box.execute("print('fresh budget')").output, "fresh budget\n");
}

TEST_F(SandboxTest, HugeOutputIsTruncatedWithAMarker) {
  options_.limits.output_cap_bytes = 20'000;
  Sandbox box = make();
  const ExecResult r = box.execute("print('x' * 10_000_000)\nprint('end')");
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.output.substr(0, 20'000), std::string(20'000, 'x'));
  EXPECT_THAT(r.output, HasSubstr("\n[... output truncated: 9980005 more bytes ...]"));
  EXPECT_LT(r.output.size(), 20'100u);
}

TEST_F(SandboxTest, OutputOfChildProcessesAndStderrIsCaptured) {
  options_.allowed_imports = allowed_plus("subprocess");
  Sandbox box = make();
  const ExecResult r = box.execute(
      "import subprocess, warnings\nprint('from python')\n"
      "subprocess.run(['/bin/sh', '-c', 'echo from a child; echo to stderr >&2'])\n"
      "warnings.warn('careful')");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_THAT(r.output, HasSubstr("from python\nfrom a child\nto stderr\n"));
  EXPECT_THAT(r.output, HasSubstr("UserWarning: careful"));
}

TEST_F(SandboxTest, ToolCallsReachTheHostAndReturnTheirValue) {
  options_.tools = {{"add", {"a", "b"}}};
  std::vector<std::pair<std::string, core::Json>> calls;
  Sandbox box = make([&](const std::string& tool, const core::Json& args, Deadline) {
    calls.emplace_back(tool, args);
    return ToolOutcome{.ok = true,
                       .value = {{"sum", args.value("a", 0) + args.value("b", 0)}},
                       .error = "",
                       .ends_run = false};
  });
  const ExecResult r =
      box.execute("first = add(a=2, b=3)\nsecond = add(4, b=5)\nprint(first['sum'], second)");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_EQ(r.output, "5 {'sum': 9}\n");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].first, "add");
  EXPECT_EQ(calls[0].second, core::Json::parse(R"({"a": 2, "b": 3})"));
  EXPECT_EQ(calls[1].second, core::Json::parse(R"({"a": 4, "b": 5})"));
  const ExecResult too_many = box.execute("add(1, 2, 3)");
  ASSERT_TRUE(too_many.error.has_value());
  EXPECT_THAT(*too_many.error, HasSubstr("TypeError"));
  const ExecResult not_json = box.execute("add(a=object())");
  ASSERT_TRUE(not_json.error.has_value());
  EXPECT_THAT(*not_json.error,
              HasSubstr("TypeError: tool 'add': a builtins.object cannot be passed"));
  EXPECT_EQ(box.execute("import numpy as np\nprint(add(a=np.int64(2), b=np.float32(0.5)))").output,
            "{'sum': 2}\n");
  EXPECT_EQ(calls.size(), 3u);  // the call with an object never reached the host
}

// Regression: time inside tools did not count, so code calling a slow tool in a loop ran forever.
TEST_F(SandboxTest, TimeSpentInToolsCountsAgainstTheStepLimit) {
  options_.limits.step_wall = std::chrono::milliseconds(500);
  options_.tools = {{"slow", {}}};
  Sandbox box = make([](const std::string&, const core::Json&, Deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return ToolOutcome{.ok = true, .value = 1, .error = "", .ends_run = false};
  });
  const ExecResult r = box.execute("for _ in range(10):\n    slow()");
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.exec_ms, 5000);
}

// A tool is told when the step ends; one that overruns it is named in the error, with how long it
// took, so that the model knows which call to change.
TEST_F(SandboxTest, AToolThatUsesUpTheStepIsNamedInTheTimeout) {
  options_.limits.step_wall = std::chrono::milliseconds(400);
  options_.tools = {{"visualizer", {}}};
  std::chrono::milliseconds time_given{0};
  Sandbox box = make([&](const std::string&, const core::Json&, Deadline step_ends) {
    time_given =
        std::chrono::ceil<std::chrono::milliseconds>(step_ends - std::chrono::steady_clock::now());
    std::this_thread::sleep_until(step_ends + std::chrono::milliseconds(100));
    return ToolOutcome{.ok = true, .value = 1, .error = "", .ends_run = false};
  });
  const ExecResult r = box.execute("visualizer()\nprint('not reached')");
  EXPECT_TRUE(r.timed_out);
  EXPECT_GT(time_given.count(), 0);
  EXPECT_LE(time_given.count(), 400);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_THAT(*r.error, HasSubstr("the tool 'visualizer' ran for"));
  EXPECT_THAT(*r.error, HasSubstr("limit of 0.4 s"));
  EXPECT_THAT(r.output, Not(HasSubstr("not reached")));
}

// Regression: a worker that sent a frame nested 200,000 deep crashed the host. It is a broken
// channel now: the step fails and a fresh worker takes over.
TEST_F(SandboxTest, AHostileFrameEndsTheStepNotTheHost) {
  options_.allowed_imports = allowed_plus("os");
  Sandbox box = make();
  const ExecResult r = box.execute(
      "import os\npayload = b'{\"op\": \"tool\", \"args\": ' + b'[' * 200000 + b']' * 200000 "
      "+ b'}'\nos.write(3, len(payload).to_bytes(4, 'little') + payload)\nimport time\n"
      "time.sleep(5)");
  EXPECT_TRUE(r.worker_restarted);
  EXPECT_THAT(r.error.value_or(""), HasSubstr("malformed message"));
  EXPECT_EQ(box.execute("print(1)").output, "1\n");
}

TEST_F(SandboxTest, ToolErrorsAreExceptionsTheCodeCanCatch) {
  options_.tools = {{"ocr", {"image"}}, {"broken", {}}};
  Sandbox box = make([](const std::string& tool, const core::Json& args, Deadline) -> ToolOutcome {
    if (tool == "broken") throw std::runtime_error("backend crashed");
    return {.ok = false,
            .value = nullptr,
            .error = "image '" + args.value("image", std::string()) + "' not found",
            .ends_run = false};
  });
  const ExecResult caught =
      box.execute("try:\n    ocr(image='x.png')\nexcept ToolError as e:\n    print('caught:', e)");
  EXPECT_EQ(caught.error, std::nullopt);
  EXPECT_EQ(caught.output, "caught: image 'x.png' not found\n");
  const ExecResult thrown = box.execute("broken()");
  ASSERT_TRUE(thrown.error.has_value());
  EXPECT_THAT(*thrown.error, HasSubstr("ToolError: backend crashed"));
  EXPECT_THAT(*thrown.error, HasSubstr("broken()"));
}

TEST_F(SandboxTest, EndsRunToolSetsTheFinalAnswerAndStopsTheStep) {
  options_.tools = {{"final_answer", {"answer"}}};
  Sandbox box = make([](const std::string&, const core::Json& args, Deadline) {
    return ToolOutcome{.ok = true, .value = args["answer"], .error = "", .ends_run = true};
  });
  const ExecResult r = box.execute(
      "print('before')\ntry:\n    final_answer(answer={'city': 'Paris'})\n"
      "except Exception:\n    print('swallowed')\nprint('after')");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_EQ(r.output, "before\n");
  ASSERT_TRUE(r.final_answer.has_value());
  EXPECT_EQ(*r.final_answer, core::Json::parse(R"({"city": "Paris"})"));
  EXPECT_FALSE(box.execute("x = 1").final_answer.has_value());
}

TEST_F(SandboxTest, ForbiddenImportsAreRefusedWithTheAllowedList) {
  Sandbox box = make();
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"import os", "os"},
      {"import subprocess", "subprocess"},
      {"from os import path", "os"},
      {"__import__('os')", "os"},
      {"import os.path", "os"},
      {"exec('import socket', {})", "socket"},
      {"import importlib", "importlib"}};
  for (const auto& [code, module] : attempts) {
    const ExecResult r = box.execute(code);
    ASSERT_TRUE(r.error.has_value()) << code;
    EXPECT_THAT(*r.error, HasSubstr("import of '" + module + "' is not allowed")) << code;
    EXPECT_THAT(*r.error, HasSubstr("Allowed modules: ")) << code;
    EXPECT_THAT(*r.error, HasSubstr("numpy")) << code;
  }
}

TEST_F(SandboxTest, AllowedLibrariesMayImportAnythingInternally) {
  Sandbox box = make();
  const ExecResult r = box.execute(
      "import numpy as np\nimport pandas as pd\nfrom PIL import Image\n"
      "df = pd.DataFrame({'a': np.arange(4)})\nprint(int(df['a'].sum()), Image.new('RGB', (2, "
      "2)).size)");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_EQ(r.output, "6 (2, 2)\n");
}

TEST_F(SandboxTest, TracebacksShowTheModelsCodeNotTheWorker) {
  Sandbox box = make();
  const ExecResult r = box.execute("print('before')\ndef f(x):\n    return 1 / x\n\ny = f(0)\n");
  EXPECT_EQ(r.output, "before\n");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_THAT(*r.error, HasSubstr("Traceback (most recent call last):"));
  EXPECT_THAT(*r.error, HasSubstr("line 5"));
  EXPECT_THAT(*r.error, HasSubstr("y = f(0)"));
  EXPECT_THAT(*r.error, HasSubstr("return 1 / x"));
  EXPECT_THAT(*r.error, HasSubstr("ZeroDivisionError: division by zero"));
  EXPECT_THAT(*r.error, Not(HasSubstr("worker")));
  EXPECT_THAT(*r.error, Not(HasSubstr("_run_step")));

  const ExecResult library = box.execute("import numpy as np\nnp.reshape(np.arange(3), (2, 2))");
  ASSERT_TRUE(library.error.has_value());
  EXPECT_THAT(*library.error, HasSubstr("np.reshape(np.arange(3), (2, 2))"));
  EXPECT_THAT(*library.error, HasSubstr("ValueError"));
  EXPECT_THAT(*library.error, Not(HasSubstr("numpy/core")));

  const ExecResult syntax = box.execute("x = 1\ny = = 2");
  ASSERT_TRUE(syntax.error.has_value());
  EXPECT_THAT(*syntax.error, HasSubstr("line 2"));
  EXPECT_THAT(*syntax.error, HasSubstr("y = = 2"));
  EXPECT_THAT(*syntax.error, HasSubstr("^"));
  EXPECT_THAT(*syntax.error, HasSubstr("SyntaxError"));
}

TEST_F(SandboxTest, MatplotlibSavefigIsAnArtifact) {
  Sandbox box = make();
  const ExecResult r = box.execute(
      "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.savefig('plot.png')\n"
      "print(plt.get_backend())");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_EQ(r.output, "agg\n");
  const fs::path plot = fs::canonical(work_dir_) / "plot.png";
  EXPECT_EQ(r.artifacts, std::vector<fs::path>{plot});
  EXPECT_GT(fs::file_size(plot), 1000u);
}

TEST_F(SandboxTest, WorkerStartedFromAThreadThatEndsKeepsRunning) {
  std::optional<Sandbox> box;
  std::thread([&] { box.emplace(options_, ToolHandler{}); }).join();
  EXPECT_EQ(box->execute("print('still here')").output, "still here\n");
}

TEST_F(SandboxTest, InvalidToolNameIsRejectedAtConstruction) {
  options_.tools = {{"not-a-name", {}}};
  try {
    make();
    FAIL() << "expected core::Error";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not-a-name"));
  }
}

TEST_F(SandboxTest, AVariableNameThatIsNoIdentifierIsRejectedAtConstruction) {
  options_.variables["import"] = 1;
  try {
    make();
    FAIL() << "expected core::Error";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'import' is not a Python identifier"));
  }
}

TEST_F(SandboxTest, UnsafeModeRunsWithoutIsolation) {
  options_.unsafe_no_sandbox = true;
  // os and socket let the worker look at its surroundings; the allow-list itself still applies.
  options_.allowed_imports = allowed_plus("os");
  options_.allowed_imports.push_back("socket");
  const core::TempDir outside_dir("mat-sandbox-outside", kTestRoot);  // hidden by the sandbox
  const fs::path host_file = outside_dir.path() / "host.txt";
  std::ofstream(host_file) << "host file";
  Sandbox box = make();
  const ExecResult r =
      box.execute("import math\nopen('note.txt', 'w').write('n')\nprint(math.e > 2)");
  EXPECT_EQ(r.error, std::nullopt);
  EXPECT_EQ(r.output, "True\n");
  EXPECT_EQ(r.artifacts, std::vector<fs::path>{fs::canonical(work_dir_) / "note.txt"});
  // Each of these would fail under bubblewrap and seccomp: a pid namespace of its own, a file
  // system without the host's folders, socket() refused for every family but AF_UNIX.
  EXPECT_EQ(box.execute("import os\nprint(os.readlink('/proc/self/ns/pid'))").output,
            fs::read_symlink("/proc/self/ns/pid").string() + "\n");
  EXPECT_EQ(box.execute("print(open(" + core::Json(host_file.string()).dump() + ").read())").output,
            "host file\n");
  const ExecResult inet = box.execute(
      "import socket\nwith socket.socket(socket.AF_INET, socket.SOCK_DGRAM):\n    print('socket')");
  EXPECT_EQ(inet.error, std::nullopt);
  EXPECT_EQ(inet.output, "socket\n");
  const ExecResult forbidden = box.execute("import subprocess");
  ASSERT_TRUE(forbidden.error.has_value());
  EXPECT_THAT(*forbidden.error, HasSubstr("not allowed"));
}

}  // namespace
}  // namespace mat::sandbox

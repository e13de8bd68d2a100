// The sandbox's building blocks that need no worker: output capping, UTF-8 repair, framing and
// the artifact scan.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mat/core/error.h"
#include "mat/core/unique_fd.h"
#include "mat/sandbox/artifacts.h"
#include "mat/sandbox/frame_protocol.h"
#include "mat/sandbox/output_capture.h"

namespace mat::sandbox {
namespace {

namespace fs = std::filesystem;

TEST(SandboxOutputCapture, KeepsEverythingUnderTheCap) {
  OutputCapture capture(10);
  capture.append("hello\n");
  EXPECT_FALSE(capture.truncated());
  EXPECT_EQ(capture.text(), "hello\n");
}

TEST(SandboxOutputCapture, TruncatesWithAMarkerCountingTheRest) {
  OutputCapture capture(4);
  capture.append("abc");
  capture.append("defgh");
  EXPECT_TRUE(capture.truncated());
  EXPECT_EQ(capture.text(), "abcd\n[... output truncated: 4 more bytes ...]");
}

TEST(SandboxOutputCapture, DoesNotSplitACharacterAtTheCap) {
  OutputCapture capture(4);
  capture.append("ab\xC3\xA9\xC3\xA9");  // "abéé": the cap falls inside the second é
  EXPECT_EQ(capture.text(), "ab\xC3\xA9\n[... output truncated: 2 more bytes ...]");
  OutputCapture split(3);
  split.append("ab\xC3\xA9");
  EXPECT_EQ(split.text(), "ab\n[... output truncated: 2 more bytes ...]");
}

TEST(SandboxOutputCapture, ReplacesInvalidUtf8) {
  EXPECT_EQ(valid_utf8("ok \xFF\xC3\xA9 \xED\xA0\x80!"),
            "ok \xEF\xBF\xBD\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
  EXPECT_EQ(valid_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // a 4-byte emoji stays
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
}

std::string frame_bytes(std::string_view payload) {
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  return frame + std::string(payload);
}

TEST(SandboxFrameReader, ReassemblesFramesFedByteByByte) {
  const std::string bytes = frame_bytes(R"({"op":"a"})") + frame_bytes(R"({"op":"b","n":1})");
  FrameReader reader;
  std::vector<std::string> ops;
  for (char c : bytes) {
    reader.feed(std::string_view(&c, 1));
    while (auto message = reader.next()) ops.push_back((*message)["op"]);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"a", "b"}));
}

TEST(SandboxFrameReader, RejectsMalformedFrames) {
  FrameReader garbage;
  garbage.feed(frame_bytes("not json"));
  EXPECT_THROW(garbage.next(), core::Error);
  FrameReader huge;
  huge.feed("\xff\xff\xff\x7f");
  EXPECT_THROW(huge.next(), core::Error);
}

TEST(SandboxArtifacts, ReportsCreatedAndModifiedFilesOnly) {
  char pattern[] = "/tmp/mat-artifacts-test-XXXXXX";
  const fs::path root = ::mkdtemp(pattern);
  std::ofstream(root / "kept.txt") << "same";
  std::ofstream(root / "changed.txt") << "old";
  const core::ConfinedDir dir(root);
  const DirSnapshot before = snapshot_files(dir);
  std::ofstream(root / "changed.txt") << "new and longer";
  fs::create_directories(root / "sub");
  std::ofstream(root / "sub" / "new.csv") << "a,b";
  const Changes changed = changed_files(before, snapshot_files(dir), root);
  EXPECT_EQ(changed.files, (std::vector<fs::path>{root / "changed.txt", root / "sub" / "new.csv"}));
  EXPECT_TRUE(changed.others.empty());
  fs::remove_all(root);
}

// Regression: a link to a host file, planted by the code, was reported as an image artifact and
// its target sent to the model. It is listed as a link and never treated as a file.
TEST(SandboxArtifacts, ListsLinksAndFifosWithoutFollowingThem) {
  char pattern[] = "/tmp/mat-artifacts-test-XXXXXX";
  const fs::path root = ::mkdtemp(pattern);
  const core::ConfinedDir dir(root);
  const DirSnapshot before = snapshot_files(dir);
  fs::create_symlink("/etc/passwd", root / "plot.png");
  fs::create_directory_symlink("/etc", root / "etc-link");
  ASSERT_EQ(::mkfifo((root / "pipe.png").c_str(), 0600), 0);
  const Changes changed = changed_files(before, snapshot_files(dir), root);
  EXPECT_TRUE(changed.files.empty());
  EXPECT_EQ(changed.others, (std::vector<std::string>{"etc-link (symbolic link)", "pipe.png (FIFO)",
                                                      "plot.png (symbolic link)"}));
  fs::remove_all(root);
}

// Regression: a frame nested 200,000 deep overflowed the host's stack.
TEST(SandboxFrames, RefusesDeeplyNestedFrames) {
  FrameReader deep;
  deep.feed(frame_bytes("{\"op\": \"tool\", \"args\": " + std::string(200'000, '[') +
                        std::string(200'000, ']') + "}"));
  EXPECT_THROW(deep.next(), core::Error);
  FrameReader fine;
  fine.feed(frame_bytes("{\"op\": \"tool\", \"args\": [[[1]]]}"));
  EXPECT_TRUE(fine.next().has_value());
}

// Regression: the host blocked forever writing a reply the worker never read.
TEST(SandboxFrames, SendingGivesUpAtTheDeadline) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sockets), 0);
  const core::UniqueFd host(sockets[0]);
  const core::UniqueFd worker(sockets[1]);  // never read
  const core::Json big = {{"op", "tool_result"}, {"value", std::string(8 << 20, 'x')}};
  EXPECT_EQ(send_frame(host.get(), big,
                       std::chrono::steady_clock::now() + std::chrono::milliseconds(200)),
            SendResult::kTimedOut);
}

}  // namespace
}  // namespace mat::sandbox

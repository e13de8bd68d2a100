// The sandbox's building blocks that need no worker: output capping, UTF-8 repair, framing and
// the artifact scan.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mat/core/error.h"
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
  const DirSnapshot before = snapshot_files(root);
  std::ofstream(root / "changed.txt") << "new and longer";
  fs::create_directories(root / "sub");
  std::ofstream(root / "sub" / "new.csv") << "a,b";
  const std::vector<fs::path> changed = changed_files(before, snapshot_files(root), root);
  EXPECT_EQ(changed, (std::vector<fs::path>{root / "changed.txt", root / "sub" / "new.csv"}));
  fs::remove_all(root);
}

}  // namespace
}  // namespace mat::sandbox

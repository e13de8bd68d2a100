#include "mat/llm/sse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mat::llm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Feeds `stream` in pieces of `piece_size` bytes and collects every event, as a network would.
std::vector<std::string> feed_in_pieces(std::string_view stream, std::size_t piece_size) {
  SseParser parser;
  std::vector<std::string> events;
  for (std::size_t start = 0; start < stream.size(); start += piece_size) {
    for (std::string& event : parser.feed(stream.substr(start, piece_size))) {
      events.push_back(std::move(event));
    }
  }
  if (auto last = parser.finish()) events.push_back(std::move(*last));
  return events;
}

TEST(SseParser, ReadsOneEvent) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: {\"a\":1}\n\n"), ElementsAre("{\"a\":1}"));
}

TEST(SseParser, ReadsSeveralEventsFromOneFeed) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: one\n\ndata: two\n\ndata: [DONE]\n\n"),
              ElementsAre("one", "two", "[DONE]"));
}

TEST(SseParser, EventsSplitAtEveryPossiblePointComeOutWhole) {
  const std::string stream =
      "data: {\"x\": \"hello\"}\r\n\r\n: ping\n\ndata: second\r\rdata: [DONE]\n\n";
  for (std::size_t split = 1; split < stream.size(); ++split) {
    SseParser parser;
    std::vector<std::string> events = parser.feed(std::string_view(stream).substr(0, split));
    for (std::string& event : parser.feed(std::string_view(stream).substr(split))) {
      events.push_back(std::move(event));
    }
    EXPECT_THAT(events, ElementsAre("{\"x\": \"hello\"}", "second", "[DONE]"))
        << "split at byte " << split;
  }
}

TEST(SseParser, OneByteAtATimeGivesTheSameEvents) {
  EXPECT_THAT(feed_in_pieces("data: a\n\ndata: b\r\n\r\n", 1), ElementsAre("a", "b"));
}

TEST(SseParser, WaitsForTheBlankLineBeforeEmittingAnEvent) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: partial"), IsEmpty());
  EXPECT_THAT(parser.feed("\n"), IsEmpty());
  EXPECT_THAT(parser.feed("\n"), ElementsAre("partial"));
}

TEST(SseParser, SkipsCommentsKeepAlivesAndOtherFields) {
  SseParser parser;
  EXPECT_THAT(
      parser.feed(": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndata: x\n\n: ping\n\n"),
      ElementsAre("x"));
}

TEST(SseParser, JoinsMultiLineDataWithNewlines) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: first\ndata: second\n\n"), ElementsAre("first\nsecond"));
}

TEST(SseParser, AcceptsDataWithoutSpaceOrValue) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data:tight\n\ndata\n\n"), ElementsAre("tight", ""));
}

TEST(SseParser, FinishReturnsAnEventTheServerDidNotTerminate) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: done\n\ndata: [DONE]"), ElementsAre("done"));
  EXPECT_EQ(parser.finish(), "[DONE]");
  EXPECT_EQ(parser.finish(), std::nullopt);
}

TEST(SseParser, FinishWithNothingPendingReturnsNothing) {
  SseParser parser;
  EXPECT_THAT(parser.feed("data: a\n\n: trailing comment\n"), ElementsAre("a"));
  EXPECT_EQ(parser.finish(), std::nullopt);
}

}  // namespace
}  // namespace mat::llm

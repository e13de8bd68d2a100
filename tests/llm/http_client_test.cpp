// core::send_http against the fake OpenAI server (here rather than in tests/core because the
// fake server lives with the llm tests' support code).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "mat/core/http.h"
#include "support/fake_openai_server.h"

namespace mat::core {
namespace {

using mat::testing::FakeOpenAIServer;
using mat::testing::ScriptedReply;
using ::testing::HasSubstr;

HttpRequest chat_request(const FakeOpenAIServer& server, bool stream) {
  HttpRequest request;
  request.method = "POST";
  request.url = server.base_url() + "/chat/completions";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = Json{{"model", "m"}, {"messages", Json::array()}, {"stream", stream}}.dump();
  request.timeout = std::chrono::seconds(10);
  return request;
}

TEST(SendHttp, GetsAResponseWithLowerCasedHeaderNames) {
  const FakeOpenAIServer server;
  HttpRequest request;
  request.url = server.base_url() + "/models";
  const HttpResponse response = send_http(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("fake-model"));
  ASSERT_TRUE(response.headers.contains("content-type"));
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.header("X-Not-Sent"), std::nullopt);
}

TEST(SendHttp, PostsTheBodyAndHeaders) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("ok"));
  HttpRequest request = chat_request(server, false);
  request.headers.emplace_back("X-Test", "yes");
  EXPECT_EQ(send_http(request).status, 200);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0]["model"], "m");
  EXPECT_EQ(server.header_values("x-test")[0], "yes");
}

TEST(SendHttp, StreamsA2xxBodyToTheCallback) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("streamed text"));
  std::string received;
  const HttpResponse response = send_http(chat_request(server, true), [&](std::string_view piece) {
    received.append(piece);
    return true;
  });
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_THAT(received, HasSubstr("data: [DONE]"));
}

TEST(SendHttp, CollectsAnErrorBodyWholeEvenWithACallback) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::error(503, "overloaded", {{"Retry-After", "3"}}));
  bool called = false;
  const HttpResponse response = send_http(chat_request(server, true), [&](std::string_view) {
    called = true;
    return true;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, HasSubstr("overloaded"));
  EXPECT_EQ(response.header("retry-after"), "3");
}

TEST(SendHttp, ACallbackReturningFalseStopsTheTransferQuietly) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text(std::string(400, 'x')));
  int calls = 0;
  const HttpResponse response = send_http(chat_request(server, true), [&](std::string_view) {
    ++calls;
    return false;
  });
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(calls, 1);
}

TEST(SendHttp, AnExceptionFromTheCallbackPropagates) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("text"));
  EXPECT_THROW(send_http(chat_request(server, true),
                         [](std::string_view) -> bool { throw std::logic_error("stop here"); }),
               std::logic_error);
}

TEST(SendHttp, ConnectionRefusedIsATransportError) {
  HttpRequest request;
  request.url = mat::testing::unreachable_base_url() + "/models";
  try {
    send_http(request);
    FAIL() << "expected HttpTransportError";
  } catch (const HttpTransportError& error) {
    EXPECT_FALSE(error.timed_out());
    EXPECT_EQ(error.cause(), "Connection refused");
    EXPECT_THAT(error.what(), HasSubstr(request.url));
  }
}

TEST(SendHttp, ASlowServerTimesOut) {
  FakeOpenAIServer server;
  ScriptedReply slow = ScriptedReply::text("late");
  slow.delay = std::chrono::milliseconds(500);
  server.enqueue(slow);
  HttpRequest request = chat_request(server, false);
  request.timeout = std::chrono::milliseconds(100);
  try {
    send_http(request);
    FAIL() << "expected HttpTransportError";
  } catch (const HttpTransportError& error) {
    EXPECT_TRUE(error.timed_out());
  }
}

TEST(SendHttp, RejectsSchemesOtherThanHttp) {
  HttpRequest request;
  request.url = "file:///etc/passwd";
  EXPECT_THROW(send_http(request), HttpTransportError);
}

TEST(ParseHttpDate, ReadsTheThreeFormsAndRejectsGarbage) {
  const auto expected = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(parse_http_date("not a date"), std::nullopt);
  EXPECT_EQ(parse_http_date(""), std::nullopt);
}

}  // namespace
}  // namespace mat::core

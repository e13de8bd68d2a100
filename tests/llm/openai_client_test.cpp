#include "mat/llm/openai_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_openai_server.h"

namespace mat::llm {
namespace {

using mat::testing::FakeOpenAIServer;
using mat::testing::ScriptedReply;
using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

OpenAIConfig config_for(const std::string& base_url, bool stream) {
  OpenAIConfig config;
  config.base_url = base_url;
  config.model = "fake-model";
  config.stream = stream;
  config.max_retries = 3;
  config.initial_backoff = milliseconds(1);  // keep the suite fast
  config.max_backoff = milliseconds(10);
  config.request_timeout = std::chrono::seconds(10);
  return config;
}

const std::vector<ChatMessage> kQuestion = {ChatMessage::text(Role::kUser, "What is 6 x 7?")};

// Calls chat() expecting a ModelError, and returns it.
ModelError chat_error(OpenAIChatModel& model, const TokenCallback& on_token = {}) {
  try {
    model.chat(kQuestion, {}, on_token);
  } catch (const ModelError& error) {
    return error;
  }
  ADD_FAILURE() << "chat() did not throw ModelError";
  return ModelError("", -1, false);
}

// Captures what is logged while it lives: the retry lines are how users see waits.
class LogCapture {
 public:
  LogCapture() { spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_)); }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  std::shared_ptr<spdlog::logger> previous_ = spdlog::default_logger();
};

TEST(OpenAIChatModel, StreamingDeliversSeveralPiecesThatMakeUpTheText) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("The answer is 42, of course."));
  OpenAIChatModel model(config_for(server.base_url(), true));
  std::vector<std::string> pieces;
  const ChatResult result =
      model.chat(kQuestion, {}, [&pieces](std::string_view piece) { pieces.emplace_back(piece); });

  EXPECT_GT(pieces.size(), 2u);
  std::string joined;
  for (const std::string& piece : pieces) joined += piece;
  EXPECT_EQ(joined, "The answer is 42, of course.");
  EXPECT_EQ(result.text, "The answer is 42, of course.");
  EXPECT_EQ(result.finish_reason, "stop");
  EXPECT_EQ(result.attempts, 1);
  EXPECT_GT(result.latency_ms, 0.0);

  ASSERT_EQ(server.request_count(), 1u);
  const core::Json request = server.requests()[0];
  EXPECT_EQ(request["model"], "fake-model");
  EXPECT_EQ(request["stream"], true);
  EXPECT_EQ(request["messages"][0]["content"], "What is 6 x 7?");
}

TEST(OpenAIChatModel, StreamingKeepsMultiByteCharactersWhole) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("Grüße, 世界! ✓ done"));
  OpenAIChatModel model(config_for(server.base_url(), true));
  std::string joined;
  const ChatResult result =
      model.chat(kQuestion, {}, [&joined](std::string_view piece) { joined += piece; });
  EXPECT_EQ(result.text, "Grüße, 世界! ✓ done");
  EXPECT_EQ(joined, result.text);
}

TEST(OpenAIChatModel, NonStreamingReadsTheWholeReply) {
  FakeOpenAIServer server;
  ScriptedReply reply = ScriptedReply::text("forty-two");
  reply.finish_reason = "length";
  server.enqueue(reply);
  OpenAIChatModel model(config_for(server.base_url(), false));
  std::vector<std::string> pieces;
  const ChatResult result =
      model.chat(kQuestion, {}, [&pieces](std::string_view piece) { pieces.emplace_back(piece); });
  EXPECT_EQ(result.text, "forty-two");
  EXPECT_EQ(result.finish_reason, "length");
  EXPECT_THAT(pieces, ElementsAre("forty-two"));
  EXPECT_EQ(server.requests()[0]["stream"], false);
}

TEST(OpenAIChatModel, SendsTheApiKeyOnlyWhenOneIsSet) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("a"));
  server.enqueue(ScriptedReply::text("b"));
  OpenAIConfig config = config_for(server.base_url(), false);
  OpenAIChatModel(config).chat(kQuestion, {});
  config.api_key = "sk-test";
  OpenAIChatModel(config).chat(kQuestion, {});
  EXPECT_THAT(server.header_values("Authorization"), ElementsAre("", "Bearer sk-test"));
}

TEST(OpenAIChatModel, ATrailingSlashInTheBaseUrlIsHarmless) {
  FakeOpenAIServer server;
  server.enqueue(ScriptedReply::text("ok"));
  OpenAIChatModel model(config_for(server.base_url() + "/", false));
  EXPECT_EQ(model.chat(kQuestion, {}).text, "ok");
}

TEST(OpenAIChatModel, IdentityNamesTheBackendAndModel) {
  const OpenAIChatModel model(config_for("http://127.0.0.1:9/v1", true));
  const ModelIdentity identity = model.identity();
  EXPECT_EQ(identity.backend, "openai");
  EXPECT_EQ(identity.name, "fake-model");
  EXPECT_EQ(identity.adapter, std::nullopt);
}

TEST(OpenAIChatModel, RejectsAConfigWithoutModelOrHttpUrl) {
  OpenAIConfig no_model = config_for("http://127.0.0.1:9/v1", true);
  no_model.model = "";
  EXPECT_THROW(OpenAIChatModel{no_model}, core::Error);
  EXPECT_THROW(OpenAIChatModel{config_for("127.0.0.1:9/v1", true)}, core::Error);
}

TEST(OpenAIConfig, FromEnvReadsBaseUrlAndKey) {
  ::setenv("OPENAI_BASE_URL", "http://example.test/v1", 1);
  ::setenv("OPENAI_API_KEY", "sk-env", 1);
  const OpenAIConfig config = OpenAIConfig::from_env();
  ::unsetenv("OPENAI_BASE_URL");
  ::unsetenv("OPENAI_API_KEY");
  EXPECT_EQ(config.base_url, "http://example.test/v1");
  EXPECT_EQ(config.api_key, "sk-env");
  EXPECT_EQ(OpenAIConfig::from_env().base_url, "https://api.openai.com/v1");
}

TEST(OpenAIChatModel, ConcurrentCallsOnOneModelAllSucceed) {
  FakeOpenAIServer server;
  constexpr int kCalls = 8;
  for (int i = 0; i < kCalls; ++i) server.enqueue(ScriptedReply::text("same reply"));
  OpenAIChatModel model(config_for(server.base_url(), true));
  std::vector<std::string> texts(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&model, &texts, i] { texts[i] = model.chat(kQuestion, {}).text; });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& text : texts) EXPECT_EQ(text, "same reply");
  EXPECT_EQ(server.request_count(), static_cast<std::size_t>(kCalls));
}

TEST(OpenAIChatModel, ABrokenStreamAfterShownTextIsNotRetried) {
  FakeOpenAIServer server;
  ScriptedReply cut = ScriptedReply::text("This reply will break off.");
  cut.cut_stream = true;
  server.enqueue(cut);
  server.enqueue(ScriptedReply::text("never asked for"));
  OpenAIChatModel model(config_for(server.base_url(), true));
  std::string shown;
  const ModelError error = chat_error(model, [&shown](std::string_view piece) { shown += piece; });
  EXPECT_EQ(shown, "This");
  EXPECT_TRUE(error.retryable());
  EXPECT_THAT(error.what(), AllOf(HasSubstr("broke"), HasSubstr(server.base_url())));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(OpenAIChatModel, ABrokenStreamNobodyWatchedIsRetried) {
  FakeOpenAIServer server;
  ScriptedReply cut = ScriptedReply::text("This reply will break off.");
  cut.cut_stream = true;
  server.enqueue(cut);
  server.enqueue(ScriptedReply::text("complete"));
  OpenAIChatModel model(config_for(server.base_url(), true));
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.text, "complete");
  EXPECT_EQ(result.attempts, 2);
}

TEST(OpenAIChatModel, AnErrorEventInTheStreamIsReported) {
  FakeOpenAIServer server;
  ScriptedReply reply;
  reply.raw_body = "data: {\"error\": {\"message\": \"KV cache exhausted\"}}\n\n";
  server.enqueue(reply);
  OpenAIChatModel model(config_for(server.base_url(), true));
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_THAT(error.what(), HasSubstr("KV cache exhausted"));
}

// The tests below hold for both transfer modes.
class OpenAIChatModelModes : public ::testing::TestWithParam<bool> {
 protected:
  OpenAIConfig config() const { return config_for(server_.base_url(), GetParam()); }
  FakeOpenAIServer server_;
};

INSTANTIATE_TEST_SUITE_P(StreamAndWhole, OpenAIChatModelModes, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Streaming" : "NonStreaming";
                         });

TEST_P(OpenAIChatModelModes, ReportsUsage) {
  ScriptedReply reply = ScriptedReply::text("counted");
  reply.prompt_tokens = 123;
  reply.completion_tokens = 45;
  server_.enqueue(reply);
  OpenAIChatModel model(config());
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.usage.prompt_tokens, 123);
  EXPECT_EQ(result.usage.completion_tokens, 45);
}

TEST_P(OpenAIChatModelModes, ServerWithoutUsageLeavesZeros) {
  ScriptedReply reply;
  reply.raw_body =
      GetParam() ? "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"
                 : R"({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]})";
  server_.enqueue(reply);
  OpenAIChatModel model(config());
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.text, "hi");
  EXPECT_EQ(result.usage.prompt_tokens, 0);
  EXPECT_EQ(result.usage.completion_tokens, 0);
}

TEST_P(OpenAIChatModelModes, RateLimitWithRetryAfterZeroIsRetried) {
  server_.enqueue(ScriptedReply::error(429, "Rate limit reached", {{"Retry-After", "0"}}));
  server_.enqueue(ScriptedReply::text("after the wait"));
  OpenAIConfig config = this->config();
  config.initial_backoff = std::chrono::seconds(5);  // what would be waited without Retry-After
  config.max_backoff = std::chrono::seconds(5);
  OpenAIChatModel model(config);
  const LogCapture log;
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.text, "after the wait");
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(server_.request_count(), 2u);
  EXPECT_THAT(log.lines(), ElementsAre(AllOf(HasSubstr("HTTP 429: Rate limit reached"),
                                             HasSubstr("retrying in 0 ms"))));
}

TEST_P(OpenAIChatModelModes, RetryAfterIsCappedByTheMaximumBackoff) {
  // An hour-long Retry-After: uncapped, this test would hang instead of passing.
  server_.enqueue(ScriptedReply::error(429, "slow down", {{"Retry-After", "3600"}}));
  server_.enqueue(ScriptedReply::text("ok"));
  OpenAIChatModel model(config());
  const LogCapture log;
  EXPECT_EQ(model.chat(kQuestion, {}).attempts, 2);
  EXPECT_THAT(log.lines(), Contains(HasSubstr("retrying in 10 ms")));
}

TEST_P(OpenAIChatModelModes, ServiceUnavailableThenSuccessIsRetried) {
  server_.enqueue(ScriptedReply::error(503, "loading model"));
  server_.enqueue(ScriptedReply::text("ready now"));
  OpenAIChatModel model(config());
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.text, "ready now");
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(server_.request_count(), 2u);
}

// Regression: a server that answers 500 with the same message every time (llama-server without
// an mmproj, asked about an image) was retried six times with advice about overload.
TEST_P(OpenAIChatModelModes, AServerErrorThatRepeatsItselfIsRetriedOnceAndPassedThrough) {
  OpenAIConfig config = this->config();
  config.max_retries = 5;
  OpenAIChatModel model(config);  // nothing enqueued: the fake answers 500 every time
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("HTTP 500: fake server: no scripted reply left"),
                                  HasSubstr("same answer"), Not(HasSubstr("overloaded"))));
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_P(OpenAIChatModelModes, ChangingServerErrorsRunOutOfRetries) {
  for (int i = 0; i < 3; ++i)
    server_.enqueue(ScriptedReply::error(503, "busy " + std::to_string(i)));
  OpenAIConfig config = this->config();
  config.max_retries = 2;
  OpenAIChatModel model(config);
  const ModelError error = chat_error(model);
  EXPECT_TRUE(error.retryable());
  EXPECT_THAT(error.what(), AllOf(HasSubstr("HTTP 503: busy 2"), HasSubstr("after 3 attempts")));
  EXPECT_EQ(server_.request_count(), 3u);
}

TEST_P(OpenAIChatModelModes, UnauthorizedIsNotRetriedAndBlamesTheKey) {
  server_.enqueue(ScriptedReply::error(401, "Incorrect API key provided: sk-bad"));
  OpenAIConfig config = this->config();
  config.api_key = "sk-bad";
  OpenAIChatModel model(config);
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_EQ(error.http_status(), 401);
  EXPECT_THAT(error.what(),
              AllOf(HasSubstr("rejected the API key"), HasSubstr("OPENAI_API_KEY"),
                    HasSubstr(server_.base_url()), HasSubstr("Incorrect API key provided")));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_P(OpenAIChatModelModes, ForbiddenWithoutAKeySaysToSetOne) {
  server_.enqueue(ScriptedReply::error(403, "Forbidden"));
  OpenAIChatModel model(config());
  const ModelError error = chat_error(model);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("none was set"), HasSubstr("OPENAI_API_KEY")));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_P(OpenAIChatModelModes, NotFoundNamesTheModelAndTheModelList) {
  server_.enqueue(ScriptedReply::error(404, "The model `fake-model` does not exist"));
  OpenAIChatModel model(config());
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_EQ(error.http_status(), 404);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("model 'fake-model' not found"),
                                  HasSubstr("GET " + server_.base_url() + "/models"),
                                  HasSubstr("does not exist")));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_P(OpenAIChatModelModes, BadRequestShowsTheServersMessage) {
  server_.enqueue(ScriptedReply::error(400, "This model's maximum context length is 4096 tokens"));
  OpenAIChatModel model(config());
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_EQ(error.http_status(), 400);
  EXPECT_THAT(error.what(), HasSubstr("maximum context length is 4096 tokens"));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_P(OpenAIChatModelModes, UnprocessableIsNotRetried) {
  server_.enqueue(ScriptedReply::error(422, "temperature must be at most 2"));
  OpenAIChatModel model(config());
  EXPECT_THAT(chat_error(model).what(), HasSubstr("temperature must be at most 2"));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_P(OpenAIChatModelModes, GarbageBodyIsAClearErrorQuotingIt) {
  ScriptedReply garbage;
  garbage.raw_body = "<html><body>502 Bad Gateway (nginx)</body></html>";
  server_.enqueue(garbage);
  OpenAIChatModel model(config());
  const ModelError error = chat_error(model);
  EXPECT_FALSE(error.retryable());
  EXPECT_THAT(error.what(),
              AllOf(HasSubstr("not a chat completion"), HasSubstr("502 Bad Gateway (nginx)"),
                    HasSubstr("OPENAI_BASE_URL")));
}

TEST_P(OpenAIChatModelModes, TimeoutIsRetried) {
  ScriptedReply slow = ScriptedReply::text("too late");
  slow.delay = milliseconds(500);
  server_.enqueue(slow);
  server_.enqueue(ScriptedReply::text("in time"));
  OpenAIConfig config = this->config();
  config.request_timeout = milliseconds(100);
  config.stream_timeout = milliseconds(100);
  OpenAIChatModel model(config);
  const ChatResult result = model.chat(kQuestion, {});
  EXPECT_EQ(result.text, "in time");
  EXPECT_EQ(result.attempts, 2);
}

TEST_P(OpenAIChatModelModes, ServerDownIsARetryableErrorSayingWhatToDo) {
  OpenAIConfig config = config_for(mat::testing::unreachable_base_url(), GetParam());
  config.max_retries = 2;
  OpenAIChatModel model(config);
  const ModelError error = chat_error(model);
  EXPECT_TRUE(error.retryable());
  EXPECT_EQ(error.http_status(), 0);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("cannot reach the model server at " + config.base_url +
                                            " (Connection refused) after 3 attempts"),
                                  HasSubstr("is it running?"), HasSubstr("OPENAI_BASE_URL")));
}

}  // namespace
}  // namespace mat::llm

// `mat serve` in process on the golden fixture model: mat's own OpenAI client and a raw HTTP
// client against it, concurrent streaming and non-streaming requests, the adapter chosen by
// `model`, the 4xx answers to bad requests, 503 when the queue is full, and a clean stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <thread>

#include "engine/golden.h"
#include "mat/core/base64.h"
#include "mat/core/json.h"
#include "mat/engine/local_engine.h"
#include "mat/engine/openai_server.h"
#include "mat/llm/openai_client.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;

class ServeTest : public ::testing::Test {
 protected:
  void start(SchedulerOptions scheduler = {}) {
    engine_ = LocalEngine::load(testing::golden_dir() / "model", {"cpu", "f32", 0});
    engine_->load_adapter("agent", testing::golden_dir() / "lora");
    ServerOptions options;
    options.port = 0;
    options.model_name = "tiny-qwen2-vl";
    options.default_max_tokens = 8;
    options.scheduler = scheduler;
    server_ = std::make_unique<OpenAIServer>(*engine_, options);
    port_ = server_->bind();
    serving_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (serving_.joinable()) serving_.join();
  }

  llm::OpenAIChatModel client(const std::string& model) const {
    llm::OpenAIConfig config;
    config.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    config.model = model;
    config.max_retries = 0;
    return llm::OpenAIChatModel(config);
  }
  httplib::Client http() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  // What the engine generates greedily for one user message, with the server's default length.
  std::string direct(const std::string& text, const std::string& adapter = "") {
    SamplingParams params;
    params.max_tokens = 8;
    return engine_
        ->generate(engine_->prepare({llm::ChatMessage::text(llm::Role::kUser, text)}), params,
                   adapter)
        .text;
  }

  std::unique_ptr<LocalEngine> engine_;
  std::unique_ptr<OpenAIServer> server_;
  std::thread serving_;
  int port_ = 0;
};

llm::GenerationParams greedy() {
  llm::GenerationParams p;
  p.temperature = 0;
  return p;
}

TEST_F(ServeTest, ConcurrentStreamingAndPlainClientsGetWhatTheEngineGenerates) {
  start({.max_batch = 3, .max_queue = 8});
  const std::vector<std::string> prompts = {"Describe the picture.", "Count the faces", "hello",
                                            "What is 2 + 2?"};
  std::vector<std::string> expected;
  for (const std::string& p : prompts) expected.push_back(direct(p));
  const std::string expected_lora = direct(prompts[0], "agent");

  std::vector<std::future<std::pair<llm::ChatResult, std::string>>> replies;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    replies.push_back(std::async(std::launch::async, [this, &prompts, i] {
      llm::OpenAIChatModel model = client("tiny-qwen2-vl");
      std::string streamed;
      llm::TokenCallback on_token;
      if (i % 2 == 0) on_token = [&streamed](std::string_view piece) { streamed += piece; };
      llm::ChatResult r =
          model.chat({llm::ChatMessage::text(llm::Role::kUser, prompts[i])}, greedy(), on_token);
      return std::make_pair(r, streamed);
    }));
  }
  auto lora = std::async(std::launch::async, [this, &prompts] {
    return client("agent").chat({llm::ChatMessage::text(llm::Role::kUser, prompts[0])}, greedy());
  });
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    SCOPED_TRACE(prompts[i]);
    const auto [result, streamed] = replies[i].get();
    EXPECT_EQ(result.text, expected[i]);
    if (i % 2 == 0) {
      EXPECT_EQ(streamed, expected[i]);
    }
    EXPECT_GT(result.usage.prompt_tokens, 0);
    EXPECT_EQ(result.usage.completion_tokens, 8);
    EXPECT_EQ(result.finish_reason, "length");
  }
  EXPECT_EQ(lora.get().text, expected_lora);
  EXPECT_NE(expected_lora, expected[0]);  // the fixture adapter changes the greedy reply
}

TEST_F(ServeTest, ImagesArriveAsDataUrls) {
  start();
  const std::string png = core::read_file(testing::golden_dir() / "images" / "small.png");
  auto image = std::make_shared<core::EncodedImage>();
  image->mime_type = "image/png";
  image->base64 = core::base64_encode(png);
  llm::ChatMessage user{
      llm::Role::kUser,
      {llm::ContentPart::from_image(image), llm::ContentPart::from_text("What is in the image?")}};
  const llm::ChatResult r = client("tiny-qwen2-vl").chat({user}, greedy());
  SamplingParams params;
  params.max_tokens = 8;
  EXPECT_EQ(r.text, engine_->generate(engine_->prepare({user}), params).text);
  EXPECT_GT(r.usage.prompt_tokens, 20);  // the image's pad tokens are counted
}

TEST_F(ServeTest, StreamsOpenAIChunksWithUsageAndDone) {
  start();
  const core::Json body = {{"model", "tiny-qwen2-vl"},
                           {"messages", {{{"role", "user"}, {"content", "hello"}}}},
                           {"max_tokens", 5},
                           {"stream", true},
                           {"stream_options", {{"include_usage", true}}}};
  auto r = http().Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/event-stream"));
  std::vector<core::Json> chunks;
  std::size_t at = 0;
  std::string last;
  while ((at = r->body.find("data: ", at)) != std::string::npos) {
    const std::size_t end = r->body.find("\n\n", at);
    last = r->body.substr(at + 6, end - at - 6);
    if (last != "[DONE]") chunks.push_back(core::Json::parse(last));
    at = end;
  }
  EXPECT_EQ(last, "[DONE]");
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chunks.front()["object"], "chat.completion.chunk");
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(chunks.back()["choices"].empty());
  EXPECT_EQ(chunks.back()["usage"]["completion_tokens"], 5);
  for (const core::Json& c : chunks) EXPECT_EQ(c["id"], chunks.front()["id"]);
}

TEST_F(ServeTest, ARepeatedPromptReportsItsCachedTokensAsOpenAIDoes) {
  start();
  const core::Json body = {{"model", "tiny-qwen2-vl"},
                           {"messages", {{{"role", "user"}, {"content", "hello again"}}}},
                           {"max_tokens", 3}};
  ASSERT_TRUE(http().Post("/v1/chat/completions", body.dump(), "application/json"));
  auto r = http().Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const core::Json usage = core::Json::parse(r->body)["usage"];
  // All but the last prompt token, which must be computed for the first reply token.
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"],
            usage["prompt_tokens"].get<std::int64_t>() - 1);
}

TEST_F(ServeTest, ListsModelsAndHealth) {
  start();
  auto models = http().Get("/v1/models");
  ASSERT_TRUE(models);
  const core::Json list = core::Json::parse(models->body);
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][0]["id"], "tiny-qwen2-vl");
  EXPECT_EQ(list["data"][1]["id"], "agent");
  auto health = http().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(core::Json::parse(health->body)["status"], "ok");
}

TEST_F(ServeTest, BadRequestsGetA4xxNamingTheField) {
  start();
  struct Case {
    std::string body;
    int status;
    std::string param;
  };
  const std::string hello = R"("messages": [{"role": "user", "content": "hi"}])";
  const std::vector<Case> cases = {
      {"{not json", 400, ""},
      {R"({"messages": [{"role": "user", "content": "hi"}]})", 400, "model"},
      {R"({"model": "nope", )" + hello + "}", 404, "model"},
      {R"({"model": "tiny-qwen2-vl", "messages": []})", 400, "messages"},
      {R"({"model": "tiny-qwen2-vl", "messages": [{"role": "tool", "content": "x"}]})", 400,
       "messages[0].role"},
      {R"({"model": "tiny-qwen2-vl", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}]}]})",
       400, "messages[0].content[0].image_url"},
      {R"({"model": "tiny-qwen2-vl", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}]}]})",
       400, "messages[0].content[0].image_url"},
      {R"({"model": "tiny-qwen2-vl", "temperature": 3, )" + hello + "}", 400, "temperature"},
      {R"({"model": "tiny-qwen2-vl", "n": 2, )" + hello + "}", 400, "n"},
      {R"({"model": "tiny-qwen2-vl", "stop": [1], )" + hello + "}", 400, "stop"},
      {R"({"model": "tiny-qwen2-vl", "tools": [], )" + hello + "}", 400, "tools"},
      {R"({"model": "tiny-qwen2-vl", "max_tokens": 100000000, )" + hello + "}", 400, "max_tokens"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = http().Post("/v1/chat/completions", c.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status);
    const core::Json error = core::Json::parse(r->body)["error"];
    EXPECT_FALSE(error["message"].get<std::string>().empty());
    if (!c.param.empty()) {
      EXPECT_EQ(error["param"], c.param);
    }
  }
  auto missing = http().Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("/v1/chat/completions"));
}

TEST_F(ServeTest, AFullQueueAnswers503AndStopEndsTheRunningStream) {
  start({.max_batch = 1, .max_queue = 1});
  httplib::Client streaming = http();
  std::promise<void> first_chunk;
  std::atomic<bool> seen{false};
  auto running = std::async(std::launch::async, [&] {
    // Greedy: sampled at the default temperature, the tiny model could draw its end token at any
    // step and finish before the second request arrives.
    const core::Json body = {{"model", "tiny-qwen2-vl"},
                             {"messages", {{{"role", "user"}, {"content", "hello"}}}},
                             {"max_tokens", 3000},
                             {"temperature", 0},
                             {"stream", true}};
    std::string received;
    httplib::Request request;
    request.method = "POST";
    request.path = "/v1/chat/completions";
    request.body = body.dump();
    request.set_header("Content-Type", "application/json");
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
      received.append(data, size);
      if (!seen.exchange(true)) first_chunk.set_value();
      return true;
    };
    streaming.send(request);
    return received;
  });
  first_chunk.get_future().wait();
  const std::string hello =
      R"({"model": "tiny-qwen2-vl", "messages": [{"role": "user", "content": "hi"}]})";
  auto busy = http().Post("/v1/chat/completions", hello, "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  server_->stop();
  const std::string received = running.get();
  EXPECT_THAT(received, HasSubstr("data: [DONE]"));  // ended cleanly, not cut off
}

}  // namespace
}  // namespace mat::engine

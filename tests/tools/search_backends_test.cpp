// The search backends against a local server that answers as each service does (what they send:
// query, key, headers; what they read from the replies; how they fail), and ask_search_agent
// answering from what they find, with the fake OpenAI-compatible server as its model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <thread>

#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/tools/builtin_tools.h"
#include "mat/tools/search_backend.h"
#include "support/fake_openai_server.h"

namespace mat::tools {
namespace {

using ::testing::HasSubstr;
using Deadline = SearchBackend::Deadline;

const Deadline kNoDeadline = Deadline::max();

// A local stand-in for a search service: `reply` answers every request; the last request is kept.
class FakeService {
 public:
  FakeService() {
    server_.set_keep_alive_max_count(1);
    const auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      const std::lock_guard lock(mutex_);
      last_ = req;
      res.status = status_;
      res.set_content(reply_, content_type_);
    };
    server_.Get(".*", handle);
    server_.Post(".*", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeService() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void answer(int status, std::string body, std::string content_type = "application/json") {
    const std::lock_guard lock(mutex_);
    status_ = status;
    reply_ = std::move(body);
    content_type_ = std::move(content_type);
  }
  httplib::Request last() const {
    const std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  int status_ = 200;
  std::string reply_;
  std::string content_type_;
  httplib::Request last_;
};

std::string tool_error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const ToolError& e) {
    return e.what();
  }
  return "";
}

TEST(SearchBackends, SearxngSendsTheQueryAndReadsItsResults) {
  FakeService service;
  service.answer(200, R"({"results": [
      {"title": "Mount Etna", "url": "https://example.org/etna", "content": "Etna <b>erupted</b> in 2021 &amp; 2023"},
      {"title": "no url", "content": "skipped"},
      {"title": "Vesuvius", "url": "https://example.org/vesuvius", "content": "quiet"}]})");
  const auto backend = make_searxng_backend(service.url("/") + "/");
  const std::vector<SearchHit> hits = backend->search("when did etna erupt?", 5, kNoDeadline);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].title, "Mount Etna");
  EXPECT_EQ(hits[0].url, "https://example.org/etna");
  EXPECT_EQ(hits[0].snippet, "Etna **erupted** in 2021 & 2023");
  const httplib::Request sent = service.last();
  EXPECT_EQ(sent.path, "/search");
  EXPECT_EQ(sent.get_param_value("q"), "when did etna erupt?");
  EXPECT_EQ(sent.get_param_value("format"), "json");
  EXPECT_EQ(backend->search("x", 1, kNoDeadline).size(), 1u);  // max_results honoured
}

TEST(SearchBackends, GoogleSendsTheKeyAndEngineAndReadsItems) {
  FakeService service;
  service.answer(200,
                 R"({"items": [{"title": "A", "link": "https://a.example", "snippet": "a"}]})");
  const auto backend = make_google_backend(service.url("/customsearch/v1"), "k&y", "cx1");
  const std::vector<SearchHit> hits = backend->search("rust borrow checker", 25, kNoDeadline);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].url, "https://a.example");
  const httplib::Request sent = service.last();
  EXPECT_EQ(sent.get_param_value("key"), "k&y");  // encoded, so it arrives whole
  EXPECT_EQ(sent.get_param_value("cx"), "cx1");
  EXPECT_EQ(sent.get_param_value("q"), "rust borrow checker");
  EXPECT_EQ(sent.get_param_value("num"), "10");  // the API's maximum
}

TEST(SearchBackends, SerperPostsTheQueryWithItsKeyHeader) {
  FakeService service;
  service.answer(200,
                 R"({"organic": [{"title": "B", "link": "https://b.example", "snippet": "b"}]})");
  const auto backend = make_serper_backend(service.url("/search"), "serper-key");
  EXPECT_EQ(backend->search("q1", 3, kNoDeadline).at(0).url, "https://b.example");
  const httplib::Request sent = service.last();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.get_header_value("X-API-KEY"), "serper-key");
  EXPECT_EQ(core::Json::parse(sent.body), (core::Json{{"q", "q1"}, {"num", 3}}));
}

TEST(SearchBackends, BraveSendsItsTokenAndReadsWebResults) {
  FakeService service;
  service.answer(200, R"({"web": {"results": [
      {"title": "C", "url": "https://c.example", "description": "<strong>c</strong> things"}]}})");
  const auto backend = make_brave_backend(service.url("/res/v1/web/search"), "brave-key");
  const std::vector<SearchHit> hits = backend->search("c", 50, kNoDeadline);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].snippet, "**c** things");
  EXPECT_EQ(service.last().get_header_value("X-Subscription-Token"), "brave-key");
  EXPECT_EQ(service.last().get_param_value("count"), "20");
  // No web results at all is an empty list, not an error.
  service.answer(200, R"({"query": {"original": "c"}})");
  EXPECT_TRUE(backend->search("c", 5, kNoDeadline).empty());
}

TEST(SearchBackends, FailuresNameTheServiceAndWhatToFix) {
  FakeService service;
  const auto brave = make_brave_backend(service.url("/s"), "bad");
  service.answer(401, R"({"error": {"message": "invalid subscription token"}})");
  const std::string refused = tool_error_of([&] { brave->search("x", 5, kNoDeadline); });
  EXPECT_THAT(refused, HasSubstr("Brave Search refused the key in BRAVE_API_KEY"));
  EXPECT_THAT(refused, HasSubstr("invalid subscription token"));
  service.answer(429, R"({"message": "rate limit exceeded"})");
  EXPECT_THAT(tool_error_of([&] { brave->search("x", 5, kNoDeadline); }),
              HasSubstr("HTTP 429: rate limit exceeded"));
  service.answer(200, "<html>not json</html>", "text/html");
  EXPECT_THAT(tool_error_of([&] { brave->search("x", 5, kNoDeadline); }), HasSubstr("not JSON"));
  const auto nowhere = make_serper_backend(testing::unreachable_base_url(), "k");
  EXPECT_THAT(tool_error_of([&] { nowhere->search("x", 5, kNoDeadline); }),
              HasSubstr("Serper did not answer"));
}

TEST(SearchBackends, TheEnvironmentChoosesTheBackendAndNamesWhatIsMissing) {
  ::setenv("MAT_SEARCH_BACKEND", "brave", 1);
  ::unsetenv("BRAVE_API_KEY");
  EXPECT_THAT(search_backend_from_env().problem.value_or(""), HasSubstr("needs BRAVE_API_KEY"));
  ::setenv("BRAVE_API_KEY", "k", 1);
  EXPECT_EQ(search_backend_from_env().backend->name(), "Brave Search");
  ::setenv("MAT_SEARCH_BACKEND", "altavista", 1);
  EXPECT_THAT(search_backend_from_env().problem.value_or(""),
              HasSubstr("must be local, searxng, google, serper or brave"));
  ::unsetenv("MAT_SEARCH_BACKEND");
  ::unsetenv("BRAVE_API_KEY");
  ::unsetenv("MAT_SEARCH_DB");
  EXPECT_THAT(search_backend_from_env().problem.value_or(""), HasSubstr("MAT_SEARCH_DB"));
}

class AskSearchAgent : public ::testing::Test {
 protected:
  std::shared_ptr<llm::ChatModel> model() {
    llm::OpenAIConfig config;
    config.base_url = model_server_.base_url();
    config.model = "fake-model";
    config.stream = false;
    return std::make_shared<llm::OpenAIChatModel>(config);
  }
  std::string sent_to_model() const {
    return model_server_.requests().back()["messages"].back()["content"].dump();
  }

  testing::FakeOpenAIServer model_server_;
  core::TempDir dir_;
  ToolContext context_{dir_.path()};
};

TEST_F(AskSearchAgent, AnswersFromTheCorpusDocumentsAndListsItsSources) {
  const auto docs = dir_.path() / "docs";
  std::filesystem::create_directories(docs);
  std::ofstream(docs / "etna.md") << "# Mount Etna\nEtna erupted in February 2021, with lava "
                                     "fountains 1,500 m high.\n";
  std::ofstream(docs / "bread.txt") << "Bread needs flour, water, yeast and salt.\n";
  build_corpus(docs, dir_.path() / "corpus.db");
  ::setenv("MAT_SEARCH_DB", (dir_.path() / "corpus.db").c_str(), 1);
  const auto tool = make_ask_search_agent_tool(search_backend_from_env(), model());
  ::unsetenv("MAT_SEARCH_DB");
  ASSERT_EQ(tool->unavailable(), std::nullopt);
  model_server_.enqueue(testing::ScriptedReply::text("Etna erupted in February 2021 [1]."));
  const std::string answer = tool->call({{"query", "When did Etna erupt?"}}, context_);
  EXPECT_THAT(answer, HasSubstr("Etna erupted in February 2021 [1]."));
  EXPECT_THAT(answer, HasSubstr("Sources:\n[1] Mount Etna - file://"));
  EXPECT_THAT(sent_to_model(), HasSubstr("lava fountains 1,500 m high"));  // the whole text
  EXPECT_THAT(sent_to_model(), HasSubstr("Question: When did Etna erupt?"));
}

TEST_F(AskSearchAgent, ReadsTheFoundPagesThroughTheFencedFetcher) {
  FakeService service;
  const std::string page = service.url("/etna.html");
  service.answer(
      200,
      core::Json{{"results", {{{"title", "Etna"}, {"url", page}, {"content", "snippet only"}}}}}
          .dump());
  const auto backend = make_searxng_backend(service.url(""));
  const auto tool = make_ask_search_agent_tool({backend, std::nullopt}, model());
  // The page is on a loopback address: refused unless allowed, and the snippet stands in.
  ::unsetenv("MAT_VISIT_ALLOW_PRIVATE");
  model_server_.enqueue(testing::ScriptedReply::text("From the snippet."));
  tool->call({{"query", "etna"}}, context_);
  EXPECT_THAT(sent_to_model(), HasSubstr("snippet only"));
  EXPECT_THAT(sent_to_model(), HasSubstr("could not be read"));
}

TEST_F(AskSearchAgent, SaysSoWhenNothingIsFoundWithoutAskingTheModel) {
  FakeService service;
  service.answer(200, R"({"results": []})");
  const auto tool =
      make_ask_search_agent_tool({make_searxng_backend(service.url("")), std::nullopt}, model());
  EXPECT_THAT(tool->call({{"query", "zzqx"}}, context_).get<std::string>(),
              HasSubstr("No results for 'zzqx'"));
  EXPECT_EQ(model_server_.request_count(), 0u);
}

TEST(AskSearchAgentWithoutAModel, IsUnavailableAndSaysWhatToSet) {
  const auto tool =
      make_ask_search_agent_tool({make_searxng_backend("http://x"), std::nullopt}, nullptr);
  EXPECT_THAT(tool->unavailable().value_or(""), HasSubstr("MAT_TOOL_MODEL"));
}

}  // namespace
}  // namespace mat::tools

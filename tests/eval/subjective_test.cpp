// GTA's subjective score through an OpenAI-compatible embeddings endpoint (the fake server).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "mat/eval/gta_scorer.h"
#include "mat/eval/gta_scores.h"
#include "mat/llm/openai_embedder.h"
#include "support/fake_openai_server.h"

namespace mat::eval {
namespace {

using testing::FakeOpenAIServer;
using ::testing::HasSubstr;
using testing::ScriptedReply;

// A reply of the endpoint: `body` as it is, with `status`.
ScriptedReply raw(std::string body, int status = 200,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  ScriptedReply reply;
  reply.status = status;
  reply.raw_body = std::move(body);
  reply.headers = std::move(headers);
  return reply;
}

// An embeddings list with the vectors given, listed in reverse order with their indexes: a
// client must place them by index.
ScriptedReply embeddings_reply(const std::vector<std::vector<double>>& vectors) {
  core::Json data = core::Json::array();
  for (size_t i = vectors.size(); i-- > 0;) {
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
  }
  return raw(core::Json{{"object", "list"}, {"data", data}}.dump());
}

llm::OpenAIConfig config_for(const FakeOpenAIServer& server) {
  llm::OpenAIConfig config;
  config.base_url = server.base_url();
  config.model = "all-mpnet-base-v2";
  config.api_key = "sk-test";
  config.initial_backoff = std::chrono::milliseconds(1);
  return config;
}

TEST(Subjective, MaxCosineOverTheReferencesClippedAtZero) {
  FakeOpenAIServer server;
  llm::OpenAIEmbedder embedder(config_for(server));
  // The answer, then three references: orthogonal, 45 degrees, opposite.
  server.enqueue(embeddings_reply({{1, 0}, {0, 1}, {1, 1}, {-1, 0}}));
  EXPECT_NEAR(subjective_score("swim elsewhere", {"a", "b", "c"}, embedder), std::sqrt(0.5), 1e-6);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.paths()[0], "/v1/embeddings");
  const core::Json request = server.requests()[0];
  EXPECT_EQ(request["model"], "all-mpnet-base-v2");
  EXPECT_EQ(request["input"], core::Json({"swim elsewhere", "a", "b", "c"}));
  EXPECT_EQ(server.header_values("Authorization")[0], "Bearer sk-test");
  // Only an opposite meaning: max(cosine, 0) is 0, not -1.
  server.enqueue(embeddings_reply({{1, 0}, {-1, 0}}));
  EXPECT_EQ(subjective_score("x", {"y"}, embedder), 0.0);
}

TEST(Subjective, ScoredPerQueryWhenAnEmbedderIsGiven) {
  FakeOpenAIServer server;
  llm::OpenAIEmbedder embedder(config_for(server));
  GtaDataset dataset;
  for (const char* id : {"a", "b", "c"}) {
    GtaQuery query;
    query.id = id;
    query.kind = GtaAnswerKind::kSubjective;
    query.references = {"stay out of the water"};
    dataset.queries.push_back(query);
  }
  Predictions predictions;
  predictions.by_id["a"] = {"do not swim", "test"};
  predictions.by_id["b"] = {"", "test"};  // empty: 0 without a request; "c" is missing: 0 too
  server.enqueue(embeddings_reply({{3, 4}, {3, 4}}));
  const GtaScores scores = score_gta(dataset, predictions, &embedder);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_NEAR(*scores.subjective_sum, 1.0, 1e-6);
  EXPECT_NEAR(*scores.subjective_acc(), 100.0 / 3, 1e-4);
  EXPECT_NEAR(*scores.queries[0].similarity, 1.0, 1e-6);
  EXPECT_EQ(*scores.queries[1].similarity, 0.0);
  EXPECT_EQ(scores.embedding_model, "all-mpnet-base-v2");
  EXPECT_NEAR(*scores.answer_acc(), 100.0 / 3, 1e-4);
}

TEST(Subjective, TransientFailuresAreRetried) {
  FakeOpenAIServer server;
  llm::OpenAIEmbedder embedder(config_for(server));
  server.enqueue(raw(R"({"error": {"message": "warming"}})", 503));
  server.enqueue(raw("{}", 429, {{"Retry-After", "0"}}));
  server.enqueue(embeddings_reply({{1, 2}}));
  EXPECT_EQ(embedder.embed({"x"}), std::vector<llm::Embedding>({{1, 2}}));
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(Subjective, FailuresSayWhatIsWrong) {
  FakeOpenAIServer server;
  llm::OpenAIEmbedder embedder(config_for(server));
  server.enqueue(raw(R"({"error": "no such model"})", 404));
  EXPECT_THAT([&] { embedder.embed({"x"}); },
              ::testing::ThrowsMessage<llm::ModelError>(
                  HasSubstr("embedding model 'all-mpnet-base-v2' not found")));
  server.enqueue(raw("<html>proxy</html>"));
  EXPECT_THAT([&] { embedder.embed({"x"}); },
              ::testing::ThrowsMessage<llm::ModelError>(HasSubstr("not a list of embeddings")));
  server.enqueue(embeddings_reply({{1, 2}}));
  EXPECT_THAT(
      [&] {
        embedder.embed({"x", "y"});
      },
      ::testing::ThrowsMessage<llm::ModelError>(HasSubstr("1 embeddings for 2 texts")));
  server.enqueue(
      raw(R"({"data": [{"index": 0, "embedding": [1, 2]}, {"index": 1, "embedding": [1]}]})"));
  EXPECT_THAT(
      [&] {
        embedder.embed({"x", "y"});
      },
      ::testing::ThrowsMessage<llm::ModelError>(HasSubstr("differ in length")));
  llm::OpenAIConfig ftp = config_for(server);
  ftp.base_url = "ftp://x";
  EXPECT_THROW(llm::OpenAIEmbedder{ftp}, core::Error);
}

}  // namespace
}  // namespace mat::eval

// `mat teacher serve`'s HTTP side in process, through mat's own OpenAI client: streamed and whole
// replies with usage, the stop sequences honoured, embeddings, and a 400 that says why for an
// unknown stage or a request about no task of the teacher's.
#include "mat/teacher/teacher_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "mat/llm/openai_client.h"
#include "mat/llm/openai_embedder.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/text_embedding.h"

namespace mat::teacher {
namespace {

using ::testing::HasSubstr;

class TeacherServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind();
    thread_ = std::thread([this] { server_.serve(); });
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  llm::OpenAIConfig config(const std::string& stage, bool stream) const {
    llm::OpenAIConfig config;
    config.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    config.model = "mat-teacher";
    config.stream = stream;
    config.max_retries = 0;
    if (!stage.empty()) config.extra_headers.emplace_back("X-Mat-Stage", stage);
    return config;
  }

  const ProceduralTeacher teacher_{{.seed = 8}};
  TeacherServer server_{teacher_, {}};
  int port_ = 0;
  std::thread thread_;
};

TEST_F(TeacherServerTest, AnswersTheTrajectoryStageStreamedOrWhole) {
  const Task task = make_task(family_named("face_tickets"), 8, 314);
  const std::vector<llm::ChatMessage> messages{
      llm::ChatMessage::text(llm::Role::kSystem, "You are an agent."),
      llm::ChatMessage::text(llm::Role::kUser, "Task: " + task.query)};
  llm::GenerationParams params;
  params.stop = {"<end_action>"};
  for (const bool stream : {true, false}) {
    llm::OpenAIChatModel model(config("trajectory", stream));
    const llm::ChatResult result = model.chat(messages, params);
    EXPECT_THAT(result.text, HasSubstr(task.solution[0].code));
    EXPECT_THAT(result.text, ::testing::Not(HasSubstr("<end_action>")));
    EXPECT_GT(result.usage.prompt_tokens, 0);
    EXPECT_GT(result.usage.completion_tokens, 0);
  }
}

TEST_F(TeacherServerTest, EmbedsDeterministically) {
  llm::OpenAIEmbedder embedder(config("", false));
  const std::vector<llm::Embedding> vectors = embedder.embed({"a poster", "a receipt"});
  ASSERT_EQ(vectors.size(), 2U);
  EXPECT_EQ(vectors[0], embed_text("a poster"));
  EXPECT_EQ(vectors[1].size(), static_cast<size_t>(kEmbeddingDim));
}

TEST_F(TeacherServerTest, RefusesWhatItCannotAnswerWith400) {
  const std::vector<llm::ChatMessage> messages{
      llm::ChatMessage::text(llm::Role::kUser, "The user's query:\nWhat is 2+2?\n\n")};
  for (const std::string stage : {"summarise", "file_contents"}) {
    llm::OpenAIChatModel model(config(stage, false));
    try {
      model.chat(messages, {});
      FAIL() << stage << ": answered";
    } catch (const llm::ModelError& e) {
      EXPECT_EQ(e.http_status(), 400);
      EXPECT_FALSE(e.retryable());
      EXPECT_THAT(e.what(), HasSubstr(stage == "summarise" ? "unknown stage" : "quotes no file"));
    }
  }
}

}  // namespace
}  // namespace mat::teacher

#include "mat/synth/replay.h"

#include "mat/synth/teacher.h"

namespace mat::synth {
namespace {

class ReplayModel : public llm::ChatModel {
 public:
  ReplayModel(Store& recorded, std::string stage, std::string model_name)
      : recorded_(recorded), stage_(std::move(stage)), model_name_(std::move(model_name)) {}

  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token) override {
    const std::string key = request_key(stage_, messages, params);
    const std::optional<RecordedReply> reply = recorded_.recorded_reply(key);
    if (!reply) {
      throw llm::ModelError("replay: the recorded run holds no reply to this " + stage_ +
                                " request (key " + key +
                                "); it was never asked there, so run this unit against a teacher",
                            0, false);
    }
    if (on_token) on_token(reply->text);
    llm::ChatResult result;
    result.text = reply->text;
    result.finish_reason = "stop";
    result.usage = {reply->tokens_in, reply->tokens_out};
    return result;
  }
  llm::ModelIdentity identity() const override { return {"openai", model_name_, std::nullopt}; }

 private:
  Store& recorded_;
  std::string stage_;
  std::string model_name_;
};

class RecordingEmbedder : public llm::Embedder {
 public:
  RecordingEmbedder(std::shared_ptr<llm::Embedder> inner, Store& store)
      : inner_(std::move(inner)), store_(store) {}

  std::vector<llm::Embedding> embed(const std::vector<std::string>& texts) override {
    std::vector<llm::Embedding> vectors = inner_->embed(texts);
    for (size_t i = 0; i < texts.size() && i < vectors.size(); ++i) {
      store_.put_embedding(inner_->model_name(), texts[i], vectors[i]);
    }
    return vectors;
  }
  std::string model_name() const override { return inner_->model_name(); }

 private:
  std::shared_ptr<llm::Embedder> inner_;
  Store& store_;
};

class ReplayEmbedder : public llm::Embedder {
 public:
  ReplayEmbedder(Store& recorded, std::string model_name)
      : recorded_(recorded), model_name_(std::move(model_name)) {}

  std::vector<llm::Embedding> embed(const std::vector<std::string>& texts) override {
    std::vector<llm::Embedding> vectors;
    for (const std::string& text : texts) {
      std::optional<llm::Embedding> vector = recorded_.recorded_embedding(model_name_, text);
      if (!vector) {
        throw llm::ModelError("replay: the recorded run never embedded \"" + text.substr(0, 80) +
                                  "\" with " + model_name_ + "; run this unit against the embedder",
                              0, false);
      }
      vectors.push_back(std::move(*vector));
    }
    return vectors;
  }
  std::string model_name() const override { return model_name_; }

 private:
  Store& recorded_;
  std::string model_name_;
};

}  // namespace

std::shared_ptr<llm::Embedder> recording_embedder(std::shared_ptr<llm::Embedder> inner,
                                                  Store& store) {
  return std::make_shared<RecordingEmbedder>(std::move(inner), store);
}

std::shared_ptr<llm::Embedder> replay_embedder(Store& recorded, std::string model_name) {
  return std::make_shared<ReplayEmbedder>(recorded, std::move(model_name));
}

std::shared_ptr<llm::ChatModel> replay_model(Store& recorded, const std::string& stage,
                                             std::string model_name) {
  return std::make_shared<ReplayModel>(recorded, stage, std::move(model_name));
}

}  // namespace mat::synth

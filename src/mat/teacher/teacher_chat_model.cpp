#include "mat/teacher/teacher_chat_model.h"

namespace mat::teacher {
namespace {

class TeacherChatModel : public llm::ChatModel {
 public:
  TeacherChatModel(const ProceduralTeacher& teacher, std::string stage)
      : teacher_(teacher), stage_(std::move(stage)) {}

  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token) override {
    std::vector<TextMessage> texts;
    for (const llm::ChatMessage& message : messages) {
      texts.push_back({std::string(llm::role_name(message.role)), message.joined_text()});
    }
    llm::ChatResult result;
    try {
      result.text = teacher_.reply(stage_, texts, params.seed);
    } catch (const BadRequest& e) {
      throw llm::ModelError(std::string("the offline teacher refused the request: ") + e.what(),
                            400, false);
    }
    for (const std::string& stop : params.stop) {
      const auto at = stop.empty() ? std::string::npos : result.text.find(stop);
      if (at != std::string::npos) result.text.resize(at);
    }
    result.finish_reason = "stop";
    if (on_token) on_token(result.text);
    return result;
  }

  llm::ModelIdentity identity() const override { return {"local", "mat-teacher", std::nullopt}; }

 private:
  const ProceduralTeacher& teacher_;
  std::string stage_;
};

}  // namespace

std::unique_ptr<llm::ChatModel> teacher_chat_model(const ProceduralTeacher& teacher,
                                                   std::string stage) {
  return std::make_unique<TeacherChatModel>(teacher, std::move(stage));
}

}  // namespace mat::teacher

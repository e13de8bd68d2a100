// The procedural teacher as an in-process llm::ChatModel for one stage: what the HTTP server
// answers, without the HTTP (tests, and callers that run the agent against the teacher directly).
#pragma once

#include <memory>
#include <string>

#include "mat/llm/chat_model.h"
#include "mat/teacher/stage_replies.h"

namespace mat::teacher {

// `teacher` must outlive the model. Throws llm::ModelError (not retryable) where the server
// would answer 400.
std::unique_ptr<llm::ChatModel> teacher_chat_model(const ProceduralTeacher& teacher,
                                                   std::string stage);

}  // namespace mat::teacher

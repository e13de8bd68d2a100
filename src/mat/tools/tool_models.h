// The models that tools ask, shared by every run of a registry: the vision-language model behind
// visualizer and objectlocation, the language model that answers from documents and search
// results, and the image-generation endpoint. Any of them may be missing; the tools that need it
// then say which setting to make (Tool::unavailable).
#pragma once

#include <memory>
#include <optional>

#include "mat/llm/chat_model.h"
#include "mat/llm/images_client.h"

namespace mat::tools {

struct ToolModels {
  std::shared_ptr<llm::ChatModel> vision;
  std::shared_ptr<llm::ChatModel> text;
  std::shared_ptr<llm::OpenAIImagesClient> images;
};

}  // namespace mat::tools

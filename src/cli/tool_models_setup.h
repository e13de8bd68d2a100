// The models the tools ask (visualizer, objectlocation, questions about documents, image
// generation), from the command line and the environment.
#pragma once

#include <memory>
#include <string>

#include "mat/llm/chat_model.h"
#include "mat/tools/tool_models.h"

namespace mat::cli {

struct ToolModelSettings {
  std::string model;     // --tool-model / MAT_TOOL_MODEL: empty lends the run's model
  std::string base_url;  // --tool-base-url / MAT_TOOL_BASE_URL: empty means OPENAI_BASE_URL

  static ToolModelSettings from_env();
};

// The tools' models: the one `settings` names, else `run_model` (null outside `mat run`), and
// the image endpoint MAT_IMAGES_MODEL names. Throws core::Error on a bad address.
tools::ToolModels make_tool_models(const ToolModelSettings& settings,
                                   std::shared_ptr<llm::ChatModel> run_model);

}  // namespace mat::cli

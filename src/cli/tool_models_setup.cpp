#include "tool_models_setup.h"

#include <cstdlib>

#include "mat/llm/openai_client.h"

namespace mat::cli {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

ToolModelSettings ToolModelSettings::from_env() {
  return {env("MAT_TOOL_MODEL"), env("MAT_TOOL_BASE_URL")};
}

tools::ToolModels make_tool_models(const ToolModelSettings& settings,
                                   std::shared_ptr<llm::ChatModel> run_model) {
  tools::ToolModels models;
  if (!settings.model.empty()) {
    llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
    if (!settings.base_url.empty()) config.base_url = settings.base_url;
    config.model = settings.model;
    run_model = std::make_shared<llm::OpenAIChatModel>(std::move(config));
  }
  models.vision = run_model;
  models.text = run_model;
  if (std::optional<llm::ImagesConfig> images = llm::ImagesConfig::from_env()) {
    models.images = std::make_shared<llm::OpenAIImagesClient>(std::move(*images));
  }
  return models;
}

}  // namespace mat::cli

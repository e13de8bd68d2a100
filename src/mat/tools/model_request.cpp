#include "mat/tools/model_request.h"

#include "mat/core/image_header.h"

namespace mat::tools {

ModelImage image_for_model(const ToolContext& context, const std::string& path,
                           const core::ImageLimits& limits) {
  std::string bytes = context.read_file(path, limits.max_file_bytes);
  // The header was checked against the pixel budget by the encoder; its size is the file's.
  const std::optional<core::ImageSize> size = core::read_image_size(bytes);
  try {
    ModelImage image;
    image.shown = std::make_shared<const core::EncodedImage>(
        core::encode_image_bytes(std::move(bytes), path, limits));
    image.width = size ? static_cast<int>(size->width) : image.shown->width;
    image.height = size ? static_cast<int>(size->height) : image.shown->height;
    return image;
  } catch (const core::Error& e) {
    throw ToolError(e.what());
  }
}

std::optional<std::string> missing_model(const std::shared_ptr<llm::ChatModel>& model,
                                         const std::string& kind) {
  if (model) return std::nullopt;
  return "no " + kind +
         " is configured for the tools: `mat run` lends them the run's model (or the one "
         "--tool-model names); elsewhere set MAT_TOOL_MODEL, and MAT_TOOL_BASE_URL or "
         "OPENAI_BASE_URL";
}

std::string ask_model(llm::ChatModel& model, const std::string& tool,
                      const std::vector<llm::ChatMessage>& messages, const ToolContext& context,
                      int max_tokens) {
  llm::GenerationParams params;
  params.temperature = 0.0;  // a tool answers the same question the same way
  params.max_tokens = max_tokens;
  if (context.deadline != std::chrono::steady_clock::time_point::max()) {
    params.deadline = context.deadline;
  }
  llm::ChatResult result;
  try {
    result = model.chat(messages, params);
  } catch (const llm::ModelError& e) {
    throw ToolError(tool + "(): its model did not answer: " + e.what() +
                    (e.retryable() ? " (a temporary failure: calling again later may work)" : ""));
  }
  if (result.finish_reason == "length") {
    result.text +=
        "\n[" + tool + ": the answer was cut at " + std::to_string(max_tokens) + " tokens]";
  }
  return result.text;
}

}  // namespace mat::tools

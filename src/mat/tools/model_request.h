// What the model-backed tools share: an image of the working directory prepared for a model,
// and one bounded request whose failures become errors the agent's model can act on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/image.h"
#include "mat/llm/chat_model.h"
#include "mat/tools/tool.h"

namespace mat::tools {

// An image of the work dir as a model is shown it, and the size of the file itself.
struct ModelImage {
  std::shared_ptr<const core::EncodedImage> shown;  // downscaled past the limits' max_side
  int width = 0;                                    // of the file, before any downscaling
  int height = 0;
};

// The image at `path` in the work dir, read without following links. ToolError when it is
// missing, not an image or over the limits.
ModelImage image_for_model(const ToolContext& context, const std::string& path,
                           const core::ImageLimits& limits = {});

// Why a tool that asks `model` cannot work: nullopt when there is a model, otherwise what to set.
// `kind` says what the tool needs: "vision-language model", "language model".
std::optional<std::string> missing_model(const std::shared_ptr<llm::ChatModel>& model,
                                         const std::string& kind);

// Sends `messages` to `model` with deterministic settings, ending by the step's deadline.
// Returns the reply's text. ToolError names `tool` and says what went wrong (no reply in time,
// the server's own message, a reply cut by the length limit).
std::string ask_model(llm::ChatModel& model, const std::string& tool,
                      const std::vector<llm::ChatMessage>& messages, const ToolContext& context,
                      int max_tokens);

}  // namespace mat::tools

// image_generator and image_edit (MAT's names): new images from an OpenAI-images-compatible
// endpoint (images_client.h), saved as new files of the working directory.
#include <filesystem>

#include "mat/core/image.h"
#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

constexpr size_t kMaxPromptChars = 4000;

std::optional<std::string> missing_endpoint(
    const std::shared_ptr<llm::OpenAIImagesClient>& client) {
  if (client) return std::nullopt;
  return "no image-generation endpoint is configured: set MAT_IMAGES_MODEL (e.g. gpt-image-1), "
         "and MAT_IMAGES_BASE_URL when the server is not OPENAI_BASE_URL";
}

std::string checked_prompt(const core::Json& args, const std::string& tool) {
  const std::string prompt = args.at("prompt").get<std::string>();
  if (prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw ToolError(tool + "(): 'prompt' is empty; describe the image you want");
  }
  if (prompt.size() > kMaxPromptChars) {
    throw ToolError(tool + "(): 'prompt' has " + std::to_string(prompt.size()) +
                    " characters; keep it under " + std::to_string(kMaxPromptChars));
  }
  return prompt;
}

// Saves the endpoint's image as a new file named after `stem`, with the extension of its format.
std::string save_generated(const ToolContext& context, const std::string& bytes,
                           const std::string& stem) {
  const std::string mime = core::sniff_image_mime(bytes);
  const std::string extension = mime == "image/jpeg"   ? ".jpg"
                                : mime == "image/webp" ? ".webp"
                                                       : ".png";
  return context.write_new_file(stem + extension, bytes);
}

ToolInput prompt_input(std::string description) {
  return {.name = "prompt",
          .type = ValueType::kString,
          .description = std::move(description),
          .optional = false,
          .default_value = nullptr};
}

class ImageGeneratorTool : public Tool {
 public:
  explicit ImageGeneratorTool(std::shared_ptr<llm::OpenAIImagesClient> client)
      : client_(std::move(client)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return missing_endpoint(client_); }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string prompt = checked_prompt(args, spec_.name);
    try {
      return save_generated(context, client_->generate(prompt, context.deadline), "generated");
    } catch (const llm::ModelError& e) {
      throw ToolError("image_generator(): " + std::string(e.what()));
    }
  }

 private:
  std::shared_ptr<llm::OpenAIImagesClient> client_;
  ToolSpec spec_{.name = "image_generator",
                 .description =
                     "Draws a new image from a description. Returns the path of the "
                     "new image file in the working directory.",
                 .inputs = {prompt_input("What the image should show, in detail.")},
                 .output_type = ValueType::kImage,
                 .ends_run = false};
};

class ImageEditTool : public Tool {
 public:
  explicit ImageEditTool(std::shared_ptr<llm::OpenAIImagesClient> client)
      : client_(std::move(client)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return missing_endpoint(client_); }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string prompt = checked_prompt(args, spec_.name);
    const std::string path = args.at("image_path").get<std::string>();
    const core::ImageLimits limits;
    const std::string image = context.read_file(path, limits.max_file_bytes);
    try {
      core::check_image_budget(image, path, limits);
    } catch (const core::Error& e) {
      throw ToolError("image_edit(): " + std::string(e.what()));
    }
    const std::string stem = std::filesystem::path(context.relative(path)).stem().string();
    try {
      const std::string file_name = std::filesystem::path(path).filename().string();
      return save_generated(context, client_->edit(prompt, image, file_name, context.deadline),
                            stem + "_edited");
    } catch (const llm::ModelError& e) {
      throw ToolError("image_edit(): " + std::string(e.what()));
    }
  }

 private:
  std::shared_ptr<llm::OpenAIImagesClient> client_;
  ToolSpec spec_{.name = "image_edit",
                 .description =
                     "Changes an image as a description says (add, remove or alter "
                     "something, change the style). Returns the path of the edited "
                     "copy; the original is kept.",
                 .inputs = {prompt_input("The change to make, in detail."), image_path_input()},
                 .output_type = ValueType::kImage,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_image_generator_tool(std::shared_ptr<llm::OpenAIImagesClient> client) {
  return std::make_unique<ImageGeneratorTool>(std::move(client));
}

std::unique_ptr<Tool> make_image_edit_tool(std::shared_ptr<llm::OpenAIImagesClient> client) {
  return std::make_unique<ImageEditTool>(std::move(client));
}

}  // namespace mat::tools

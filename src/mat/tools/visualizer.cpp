// visualizer (MAT's name and arguments): a question about an image, answered by the configured
// vision-language model; an empty question asks for a detailed description.
#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"
#include "mat/tools/model_request.h"

namespace mat::tools {
namespace {

constexpr int kMaxAnswerTokens = 1024;
constexpr const char* kCaptionRequest =
    "Describe this image in detail: the objects and people in it, their positions, any text "
    "you can read, numbers, colours, and anything unusual.";

class VisualizerTool : public Tool {
 public:
  explicit VisualizerTool(std::shared_ptr<llm::ChatModel> model) : model_(std::move(model)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override {
    return missing_model(model_, "vision-language model");
  }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    std::string question = args.at("question").get<std::string>();
    if (question.find_first_not_of(" \t\r\n") == std::string::npos) question = kCaptionRequest;
    llm::ChatMessage message;
    message.role = llm::Role::kUser;
    message.parts = {llm::ContentPart::from_image(
                         image_for_model(context, args.at("image_path").get<std::string>()).shown),
                     llm::ContentPart::from_text(question)};
    return ask_model(*model_, spec_.name, {message}, context, kMaxAnswerTokens);
  }

 private:
  std::shared_ptr<llm::ChatModel> model_;
  ToolSpec spec_{.name = "visualizer",
                 .description =
                     "Answers a question about an image by looking at it: what is shown, how "
                     "many, which colour, what a sign says. An empty question returns a detailed "
                     "description. The answer is text from a vision model: check numbers that "
                     "matter with a precise tool (ocr, facedetection) where one fits.",
                 .inputs = {{.name = "question",
                             .type = ValueType::kString,
                             .description = "The question about the image (\"\" for a "
                                            "description).",
                             .optional = false,
                             .default_value = nullptr},
                            image_path_input()},
                 .output_type = ValueType::kString,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_visualizer_tool(std::shared_ptr<llm::ChatModel> model) {
  return std::make_unique<VisualizerTool>(std::move(model));
}

}  // namespace mat::tools

// objectlocation (MAT's name and arguments): boxes of a named object, from the configured
// vision-language model's grounding reply (grounding.h reads the forms models really write).
#include "mat/tools/builtin_tools.h"
#include "mat/tools/grounding.h"
#include "mat/tools/image_io.h"
#include "mat/tools/model_request.h"

namespace mat::tools {
namespace {

constexpr int kMaxReplyTokens = 1024;

std::string grounding_request(const std::string& object, int width, int height) {
  return "Find every " + object + " in this image, which is " + std::to_string(width) + " x " +
         std::to_string(height) +
         " pixels. Reply with only a JSON list, one item per instance: "
         "[{\"bbox_2d\": [x1, y1, x2, y2], \"label\": \"" +
         object +
         "\"}], where (x1, y1) is the top-left and (x2, y2) the bottom-right corner in pixels "
         "of this image. Reply [] when there is none.";
}

class ObjectLocationTool : public Tool {
 public:
  explicit ObjectLocationTool(std::shared_ptr<llm::ChatModel> model) : model_(std::move(model)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override {
    return missing_model(model_, "vision-language model");
  }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string object = args.at("object").get<std::string>();
    if (object.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ToolError("objectlocation(): 'object' is empty; name what to find, e.g. 'dog'");
    }
    const std::string path = args.at("image_path").get<std::string>();
    const ModelImage image = image_for_model(context, path);
    const core::EncodedImage& shown = *image.shown;  // may be a downscaled copy
    llm::ChatMessage message;
    message.role = llm::Role::kUser;
    message.parts = {
        llm::ContentPart::from_image(image.shown),
        llm::ContentPart::from_text(grounding_request(object, shown.width, shown.height))};
    const std::string reply = ask_model(*model_, spec_.name, {message}, context, kMaxReplyTokens);
    core::Json boxes = core::Json::array();
    try {
      const Grounding grounding = parse_grounding(reply);
      for (const GroundedBox& box : grounding.boxes) {
        const PixelBox p = to_original_pixels(box, grounding.frame, shown.width, shown.height,
                                              image.width, image.height);
        boxes.push_back({p.x1, p.y1, p.x2, p.y2});
      }
    } catch (const GroundingError& e) {
      throw ToolError("objectlocation(): " + std::string(e.what()) +
                      ". Try again, or ask visualizer where the object is");
    }
    return boxes;
  }

 private:
  std::shared_ptr<llm::ChatModel> model_;
  ToolSpec spec_{.name = "objectlocation",
                 .description =
                     "Finds every instance of a named object in an image. Returns a list of "
                     "boxes [x1, y1, x2, y2] in pixels (top-left and bottom-right corners), an "
                     "empty list when there is none. Count instances with len(...); pass a box "
                     "to crop, draw_box or segmentation.",
                 .inputs = {{.name = "object",
                             .type = ValueType::kString,
                             .description = "What to find, in a few words ('dog', 'red car').",
                             .optional = false,
                             .default_value = nullptr},
                            image_path_input()},
                 .output_type = ValueType::kArray,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_object_location_tool(std::shared_ptr<llm::ChatModel> model) {
  return std::make_unique<ObjectLocationTool>(std::move(model));
}

}  // namespace mat::tools

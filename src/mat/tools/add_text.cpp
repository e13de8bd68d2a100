// add_text: writes text onto a copy of an image (a caption, a count, a label).
#include <opencv2/imgproc.hpp>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

class AddTextTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string source = args.at("image_path").get<std::string>();
    cv::Mat image = load_image(context, source);
    const std::string text = args.at("text").get<std::string>();
    if (text.empty()) throw ToolError("add_text(): 'text' is empty");
    const core::Json& at = args.at("position");
    if (!at.is_array() || at.size() != 2 || !at[0].is_number() || !at[1].is_number() ||
        at[0].get<double>() < 0 || at[1].get<double>() < 0 || at[0].get<double>() >= image.cols ||
        at[1].get<double>() >= image.rows) {
      throw ToolError("add_text(): 'position' must be [x, y] in pixels inside the image of " +
                      std::to_string(image.cols) + " x " + std::to_string(image.rows) + ", got " +
                      at.dump());
    }
    const double scale = std::max(0.5, std::min(image.cols, image.rows) / 600.0);
    const int thickness = std::max(1, static_cast<int>(scale * 2));
    const cv::Point origin(at[0].get<int>(), at[1].get<int>());
    // Dark outline under light text: readable on any background.
    cv::putText(image, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0),
                thickness + 2);
    cv::putText(image, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255),
                thickness);
    return save_image(context, image, source, "text");
  }

 private:
  ToolSpec spec_{.name = "add_text",
                 .description =
                     "Writes text onto a copy of an image, its baseline starting at a "
                     "point. Returns the path of the new image; the original is "
                     "unchanged.",
                 .inputs = {image_path_input(),
                            {.name = "text",
                             .type = ValueType::kString,
                             .description = "The text to write (ASCII).",
                             .optional = false,
                             .default_value = nullptr},
                            {.name = "position",
                             .type = ValueType::kArray,
                             .description = "[x, y] in pixels where the text starts.",
                             .optional = false,
                             .default_value = nullptr}},
                 .output_type = ValueType::kImage,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_add_text_tool() {
  return std::make_unique<AddTextTool>();
}

}  // namespace mat::tools

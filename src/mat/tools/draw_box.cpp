// draw_box: marks a region of an image, e.g. to show the model (or the user) what a detector found.
#include <opencv2/imgproc.hpp>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

class DrawBoxTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string source = args.at("image_path").get<std::string>();
    cv::Mat image = load_image(context, source);
    const cv::Rect box = parse_box(args.at("bbox"), image, "bbox");
    // Lines and labels scale with the image so that they stay visible once it is downscaled.
    const int thickness = std::max(2, std::min(image.cols, image.rows) / 300);
    const cv::Scalar red(0, 0, 255);
    cv::rectangle(image, box, red, thickness);
    if (args.contains("label")) {
      const double scale = std::max(0.5, std::min(image.cols, image.rows) / 800.0);
      const cv::Point corner(box.x, std::max(box.y - 2 * thickness, 12));
      cv::putText(image, args["label"].get<std::string>(), corner, cv::FONT_HERSHEY_SIMPLEX, scale,
                  red, thickness);
    }
    return save_image(context, image, source, "box");
  }

 private:
  ToolSpec spec_{.name = "draw_box",
                 .description =
                     "Draws a red box (and an optional label) on a copy of an image. Returns the "
                     "path of the new image; the original is unchanged.",
                 .inputs = {image_path_input(),
                            {.name = "bbox",
                             .type = ValueType::kArray,
                             .description = "The box [x1, y1, x2, y2] in pixels.",
                             .optional = false,
                             .default_value = nullptr},
                            {.name = "label",
                             .type = ValueType::kString,
                             .description = "Text written above the box.",
                             .optional = true,
                             .default_value = nullptr}},
                 .output_type = ValueType::kImage,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_draw_box_tool() {
  return std::make_unique<DrawBoxTool>();
}

}  // namespace mat::tools

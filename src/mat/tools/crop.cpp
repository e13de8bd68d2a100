// crop: cuts a region out of an image, e.g. a face or a line of text to look at more closely.
#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

class CropTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string source = args.at("image_path").get<std::string>();
    const cv::Mat image = load_image(context, source);
    const cv::Rect box = parse_box(args.at("bbox"), image, "bbox");
    return save_image(context, image(box).clone(), source, "crop");
  }

 private:
  ToolSpec spec_{.name = "crop",
                 .description =
                     "Cuts the region inside a box out of an image. Returns the path "
                     "of the new image; the original is unchanged.",
                 .inputs = {image_path_input(),
                            {.name = "bbox",
                             .type = ValueType::kArray,
                             .description = "The box [x1, y1, x2, y2] in pixels to keep.",
                             .optional = false,
                             .default_value = nullptr}},
                 .output_type = ValueType::kImage,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_crop_tool() {
  return std::make_unique<CropTool>();
}

}  // namespace mat::tools

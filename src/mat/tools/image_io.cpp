#include "mat/tools/image_io.h"

#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace mat::tools {

ToolInput image_path_input() {
  return {.name = "image_path",
          .type = ValueType::kImage,
          .description = "Path of the image file in the working directory.",
          .optional = false,
          .default_value = nullptr};
}

cv::Mat load_image(const ToolContext& context, const std::string& path,
                   const core::ImageLimits& limits) {
  std::string bytes = context.read_file(path, limits.max_file_bytes);
  try {
    core::check_image_budget(bytes, path, limits);
  } catch (const core::Error& e) {
    throw ToolError(e.what());
  }
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
  cv::Mat image = cv::imdecode(raw, cv::IMREAD_COLOR);
  if (image.empty()) {
    throw ToolError("'" + path +
                    "' cannot be decoded as an image: the file is corrupt or truncated");
  }
  return image;
}

cv::Rect parse_box(const core::Json& box, const cv::Mat& image, const std::string& argument) {
  const std::string expected = "'" + argument +
                               "' must be a box [x1, y1, x2, y2] in pixels (top-left, "
                               "bottom-right) inside the image of " +
                               std::to_string(image.cols) + " x " + std::to_string(image.rows);
  if (!box.is_array() || box.size() != 4) throw ToolError(expected + ", got " + box.dump());
  double v[4];
  for (int i = 0; i < 4; ++i) {
    if (!box[i].is_number() || !std::isfinite(box[i].get<double>())) {
      throw ToolError(expected + ", got " + box.dump());
    }
    v[i] = box[i].get<double>();
  }
  const int x1 = static_cast<int>(std::lround(std::max(v[0], 0.0)));
  const int y1 = static_cast<int>(std::lround(std::max(v[1], 0.0)));
  const int x2 = static_cast<int>(std::lround(std::min(v[2], static_cast<double>(image.cols))));
  const int y2 = static_cast<int>(std::lround(std::min(v[3], static_cast<double>(image.rows))));
  const bool inside = v[0] >= -1 && v[1] >= -1 && v[2] <= image.cols + 1 && v[3] <= image.rows + 1;
  if (!inside || x1 >= x2 || y1 >= y2) throw ToolError(expected + ", got " + box.dump());
  return {x1, y1, x2 - x1, y2 - y1};
}

core::Json box_json(const cv::Rect& box) {
  return core::Json::array({box.x, box.y, box.x + box.width, box.y + box.height});
}

std::string save_image(const ToolContext& context, const cv::Mat& image, const std::string& source,
                       const std::string& suffix) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", image, png)) throw ToolError("encoding the result as PNG failed");
  const std::filesystem::path name = context.relative(source);
  return context.write_new_file(
      name.stem().string() + "_" + suffix + ".png",
      std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace mat::tools

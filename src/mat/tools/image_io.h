// Images in and out of the tools: read from the run's working directory with the same pixel
// budget as every image the host decodes, boxes checked against the image, results saved as new
// files in the working directory.
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "mat/core/image.h"
#include "mat/core/json.h"
#include "mat/tools/tool.h"

namespace mat::tools {

// The `image_path` input every image tool takes (MAT's name for it).
ToolInput image_path_input();

// Decodes the image at `path` (3-channel BGR). ToolError says what is wrong and which file:
// missing, not an image, corrupt, over `limits`.
cv::Mat load_image(const ToolContext& context, const std::string& path,
                   const core::ImageLimits& limits = {});

// A box [x1, y1, x2, y2] in pixels, checked against `image`: four numbers, x1 < x2, y1 < y2,
// inside the image (edges clipped by at most a pixel of rounding). ToolError otherwise.
cv::Rect parse_box(const core::Json& box, const cv::Mat& image, const std::string& argument);

// [x1, y1, x2, y2] as JSON.
core::Json box_json(const cv::Rect& box);

// Saves `image` as a new PNG named after `source` and `suffix` ("photo.jpg", "boxed" ->
// "photo_boxed.png", or "photo_boxed_2.png" when taken). Returns its path in the work dir.
std::string save_image(const ToolContext& context, const cv::Mat& image, const std::string& source,
                       const std::string& suffix);

}  // namespace mat::tools

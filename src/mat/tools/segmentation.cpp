// segmentation (MAT's name): the pixels of the object in each box, by OpenCV's GrabCut seeded
// with the box (everything outside it is background, everything inside possibly the object);
// without boxes, the main object of the whole image.
#include <algorithm>
#include <array>
#include <opencv2/imgproc.hpp>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

constexpr int kIterations = 5;
// GrabCut works on at most this many pixels a side (larger is downscaled, the mask scaled back):
// its graph cut grows faster than the pixel count, and on a photograph 5 iterations took ~2 s of
// CPU at 512 pixels but ~36 s at 1024, more than a step may last.
constexpr int kMaxWorkSide = 512;
constexpr size_t kMaxBoxes = 16;
constexpr int kMinBoxSide = 8;  // GrabCut models colours from samples; fewer pixels model nothing

// Distinct tints for the overlay (BGR), one per mask in turn.
constexpr std::array<std::array<double, 3>, 6> kTints = {
    {{0, 0, 255}, {255, 128, 0}, {0, 200, 0}, {255, 0, 255}, {0, 215, 255}, {255, 255, 0}}};

// The boxes given, checked against the image; a single box [x1, y1, x2, y2] counts as a list of
// one. Without boxes, the whole image less a border that gives GrabCut its background samples.
std::vector<cv::Rect> boxes_of(const core::Json& args, const cv::Mat& image) {
  if (!args.contains("boxes")) {
    const int border = std::max(2, std::min(image.cols, image.rows) / 40);
    const cv::Rect whole(border, border, image.cols - 2 * border, image.rows - 2 * border);
    if (whole.width < kMinBoxSide || whole.height < kMinBoxSide) {
      throw ToolError("the image is only " + std::to_string(image.cols) + " x " +
                      std::to_string(image.rows) +
                      " pixels, too small to segment; enlarge it first");
    }
    return {whole};
  }
  core::Json list = args["boxes"];
  if (!list.empty() && list[0].is_number()) list = core::Json::array({list});
  if (list.empty() || list.size() > kMaxBoxes) {
    throw ToolError("'boxes' must be a list of 1 to " + std::to_string(kMaxBoxes) +
                    " boxes [x1, y1, x2, y2], got " + std::to_string(list.size()) +
                    "; leave it out to segment the main object of the whole image");
  }
  std::vector<cv::Rect> boxes;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string name = "boxes[" + std::to_string(i) + "]";
    const cv::Rect box = parse_box(list[i], image, name);
    if (box.width < kMinBoxSide || box.height < kMinBoxSide) {
      throw ToolError("'" + name + "' is " + std::to_string(box.width) + " x " +
                      std::to_string(box.height) + " pixels, too small to segment: a box needs " +
                      std::to_string(kMinBoxSide) + " pixels a side; crop and enlarge the image " +
                      "first");
    }
    boxes.push_back(box);
  }
  return boxes;
}

// The mask (CV_8U, 255 = object) of the object in `box`, the size of `image`. GrabCut runs on
// the box and a margin around it, where it learns what the background looks like: the work then
// follows the box's size, not the image's, and the background model stays local.
cv::Mat segment(const cv::Mat& image, const cv::Rect& box) {
  const int margin = std::max(kMinBoxSide, std::max(box.width, box.height) / 4);
  const cv::Rect region =
      cv::Rect(box.x - margin, box.y - margin, box.width + 2 * margin, box.height + 2 * margin) &
      cv::Rect(0, 0, image.cols, image.rows);
  const double scale =
      std::min(1.0, static_cast<double>(kMaxWorkSide) / std::max(region.width, region.height));
  cv::Mat work = image(region);
  if (scale < 1) cv::resize(work, work, cv::Size(), scale, scale, cv::INTER_AREA);
  const cv::Rect bounds(0, 0, work.cols, work.rows);
  cv::Rect rect(cvFloor((box.x - region.x) * scale), cvFloor((box.y - region.y) * scale), 0, 0);
  rect.width = cvCeil((box.br().x - region.x) * scale) - rect.x;
  rect.height = cvCeil((box.br().y - region.y) * scale) - rect.y;
  rect &= bounds;
  // A box over the whole image leaves nothing to learn the background from: keep a rim.
  if (rect == bounds) rect = cv::Rect(1, 1, bounds.width - 2, bounds.height - 2);

  cv::Mat labels;
  cv::Mat background_model;
  cv::Mat object_model;
  try {
    cv::grabCut(work, labels, rect, background_model, object_model, kIterations,
                cv::GC_INIT_WITH_RECT);
  } catch (const cv::Exception&) {
    // Its colour models need a few pixels inside and outside the box at the working scale.
    throw ToolError("the box " + box_json(box).dump() +
                    " leaves too few pixels inside or around it to segment; use a wider box");
  }
  cv::Mat object = (labels == cv::GC_FGD) | (labels == cv::GC_PR_FGD);
  if (scale < 1) {
    // Bilinear then a threshold: smoother edges than nearest-neighbour scaling.
    cv::resize(object, object, region.size(), 0, 0, cv::INTER_LINEAR);
    cv::threshold(object, object, 127, 255, cv::THRESH_BINARY);
  }
  cv::Mat mask = cv::Mat::zeros(image.size(), CV_8U);
  object.copyTo(mask(region));
  return mask;
}

// The image with each mask tinted in its colour and each given box outlined in it.
cv::Mat overlay_of(const cv::Mat& image, const std::vector<cv::Mat>& masks,
                   const std::vector<cv::Rect>& boxes, bool draw_boxes) {
  cv::Mat overlay = image.clone();
  const int thickness = std::max(2, std::min(image.cols, image.rows) / 300);
  for (size_t i = 0; i < masks.size(); ++i) {
    const auto& [b, g, r] = kTints[i % kTints.size()];
    const cv::Scalar tint(b, g, r);
    cv::Mat tinted;
    cv::addWeighted(overlay, 0.5, cv::Mat(image.size(), image.type(), tint), 0.5, 0, tinted);
    tinted.copyTo(overlay, masks[i]);
    if (draw_boxes) cv::rectangle(overlay, boxes[i], tint, thickness);
  }
  return overlay;
}

class SegmentationTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string source = args.at("image_path").get<std::string>();
    const cv::Mat image = load_image(context, source);
    const std::vector<cv::Rect> boxes = boxes_of(args, image);
    std::vector<cv::Mat> masks;
    core::Json mask_paths = core::Json::array();
    core::Json areas = core::Json::array();
    for (const cv::Rect& box : boxes) {
      masks.push_back(segment(image, box));
      mask_paths.push_back(save_image(context, masks.back(), source, "mask"));
      areas.push_back(cv::countNonZero(masks.back()));
    }
    const cv::Mat overlay = overlay_of(image, masks, boxes, args.contains("boxes"));
    return {{"masks", std::move(mask_paths)},
            {"overlay", save_image(context, overlay, source, "segmentation")},
            {"areas", std::move(areas)}};
  }

 private:
  ToolSpec spec_{
      .name = "segmentation",
      .description =
          "Finds the exact pixels of objects in an image. For each box [x1, y1, x2, y2] "
          "(e.g. from facedetection or objectlocation) it separates the object in the box from "
          "its background; without boxes it finds the main object of the whole image. Works "
          "best when the box fits the object closely. Returns a dict: 'masks' (paths of "
          "black-and-white PNG images, one per box, white where the object is), 'overlay' (path "
          "of a copy of the image with each mask tinted in a colour and each box drawn: look at "
          "it to check the result) and 'areas' (the object's size in pixels, one per box).",
      .inputs = {image_path_input(),
                 {.name = "boxes",
                  .type = ValueType::kArray,
                  .description = "Boxes [x1, y1, x2, y2] in pixels around the objects to "
                                 "segment (at most 16); leave out to segment the whole image.",
                  .optional = true,
                  .default_value = nullptr}},
      .output_type = ValueType::kObject,
      .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_segmentation_tool() {
  return std::make_unique<SegmentationTool>();
}

}  // namespace mat::tools

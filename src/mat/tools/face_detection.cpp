// facedetection (MAT's name): OpenCV's frontal-face cascade from Debian's opencv-data, or the
// cascade file named by MAT_FACE_MODEL.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

constexpr const char* kDefaultModel =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

std::string model_path() {
  const char* configured = std::getenv("MAT_FACE_MODEL");
  return configured != nullptr && *configured != '\0' ? configured : kDefaultModel;
}

// `box` grown by `factor` about its centre and clipped to the image: MAT's original enlarged its
// face boxes by 1.5 so that a crop shows the whole head, not just the face.
cv::Rect enlarged(const cv::Rect& box, double factor, const cv::Size& image) {
  const double cx = box.x + box.width / 2.0;
  const double cy = box.y + box.height / 2.0;
  const double half_w = box.width * factor / 2.0;
  const double half_h = box.height * factor / 2.0;
  const cv::Point top_left(static_cast<int>(std::lround(std::max(0.0, cx - half_w))),
                           static_cast<int>(std::lround(std::max(0.0, cy - half_h))));
  const cv::Point bottom_right(
      static_cast<int>(std::lround(std::min<double>(image.width, cx + half_w))),
      static_cast<int>(std::lround(std::min<double>(image.height, cy + half_h))));
  return {top_left, bottom_right};
}

class FaceDetectionTool : public Tool {
 public:
  FaceDetectionTool() : model_(model_path()) {
    try {
      if (!detector_.load(model_)) problem_ = "cannot load the face model '" + model_ + "'";
    } catch (const cv::Exception& e) {
      problem_ = "cannot load the face model '" + model_ + "': " + e.what();
    }
    if (problem_) {
      *problem_ += "; install Debian's opencv-data or set MAT_FACE_MODEL to a cascade file";
    }
  }

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return problem_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const double enlarge = args.at("enlarge").get<double>();
    if (!(enlarge >= 1.0 && enlarge <= 4.0)) {
      throw ToolError("facedetection(): 'enlarge' must be from 1 to 4, got " +
                      args["enlarge"].dump());
    }
    const cv::Mat image = load_image(context, args.at("image_path").get<std::string>());
    cv::Mat gray;
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    cv::equalizeHist(gray, gray);
    // Faces smaller than 1/40 of the image's shorter side are mostly false positives.
    const int smallest = std::max(24, std::min(image.cols, image.rows) / 40);
    std::vector<cv::Rect> faces;
    {
      const std::lock_guard lock(mutex_);  // the cascade keeps scratch state between calls
      detector_.detectMultiScale(gray, faces, 1.1, 5, 0, cv::Size(smallest, smallest));
    }
    std::sort(faces.begin(), faces.end(), [](const cv::Rect& a, const cv::Rect& b) {
      return a.x != b.x ? a.x < b.x : a.y < b.y;
    });
    core::Json boxes = core::Json::array();
    for (const cv::Rect& face : faces) {
      boxes.push_back(box_json(enlarged(face, enlarge, image.size())));
    }
    return boxes;
  }

 private:
  std::string model_;
  mutable cv::CascadeClassifier detector_;
  mutable std::mutex mutex_;
  std::optional<std::string> problem_;
  ToolSpec spec_{.name = "facedetection",
                 .description =
                     "Finds human faces in an image. Returns a list of boxes [x1, y1, x2, y2] in "
                     "pixels (top-left and bottom-right corners), one per face, left to right; an "
                     "empty list when there is none. Count the faces with len(...).",
                 .inputs = {image_path_input(),
                            {.name = "enlarge",
                             .type = ValueType::kNumber,
                             .description = "Grow each box by this factor about its centre "
                                            "(clipped to the image), e.g. 1.5 to include the "
                                            "whole head; 1 keeps the face box.",
                             .optional = true,
                             .default_value = 1.0}},
                 .output_type = ValueType::kArray,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_face_detection_tool() {
  return std::make_unique<FaceDetectionTool>();
}

}  // namespace mat::tools

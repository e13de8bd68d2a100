// The image tools on real inputs: a real portrait from Debian's matplotlib sample data, text
// rendered with a real font, and the bad input a model produces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/core/temp_dir.h"
#include "mat/tools/registry.h"

namespace mat::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kPortrait = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
constexpr const char* kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

class ImageTools : public ::testing::Test {
 protected:
  ImageTools() : registry_(builtin_registry({}, &unavailable_)) {}

  void SetUp() override {
    for (const UnavailableTool& tool : unavailable_) {
      const bool image_tool = tool.name == "ocr" || tool.name == "facedetection";
      if (image_tool) ADD_FAILURE() << tool.name << " is unavailable: " << tool.reason;
    }
  }

  core::Json call(const std::string& tool, const core::Json& args) {
    return registry_.call(tool, args, context_);
  }
  std::string error_of(const std::string& tool, const core::Json& args) {
    try {
      call(tool, args);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "";
  }
  fs::path write_blank(const std::string& name, int width, int height) {
    cv::imwrite((dir_.path() / name).string(),
                cv::Mat(height, width, CV_8UC3, cv::Scalar::all(255)));
    return dir_.path() / name;
  }

  std::vector<UnavailableTool> unavailable_;
  ToolRegistry registry_;
  core::TempDir dir_;
  ToolContext context_{dir_.path()};
};

TEST_F(ImageTools, FindsTheFaceInARealPortraitAndNoneInABlankImage) {
  fs::copy_file(kPortrait, dir_.path() / "portrait.jpg");
  const core::Json faces = call("facedetection", {{"image_path", "portrait.jpg"}});
  ASSERT_EQ(faces.size(), 1u) << faces.dump();
  const auto box = faces[0].get<std::vector<int>>();
  // The face is in the upper middle of the 512 x 600 photograph.
  EXPECT_GT(box[0], 100);
  EXPECT_LT(box[2], 420);
  EXPECT_LT(box[1], 200);
  EXPECT_GT(box[3] - box[1], 150);
  write_blank("blank.png", 400, 300);
  EXPECT_EQ(call("facedetection", {{"image_path", "blank.png"}}), core::Json::array());
}

// As in MAT's original, a box can be grown about its centre (to take in the whole head), and it
// stays inside the image.
TEST_F(ImageTools, FaceBoxesCanBeEnlargedAndStayInsideTheImage) {
  fs::copy_file(kPortrait, dir_.path() / "portrait.jpg");
  const auto face =
      call("facedetection", {{"image_path", "portrait.jpg"}})[0].get<std::vector<int>>();
  const auto grown = call("facedetection", {{"image_path", "portrait.jpg"}, {"enlarge", 1.5}})[0]
                         .get<std::vector<int>>();
  const int width = face[2] - face[0];
  EXPECT_NEAR(grown[2] - grown[0], std::min(512, static_cast<int>(width * 1.5)), 2);
  EXPECT_NEAR((grown[0] + grown[2]) / 2.0, (face[0] + face[2]) / 2.0, 2);
  const auto huge = call("facedetection", {{"image_path", "portrait.jpg"}, {"enlarge", 4}})[0]
                        .get<std::vector<int>>();
  EXPECT_GE(huge[0], 0);
  EXPECT_GE(huge[1], 0);
  EXPECT_LE(huge[2], 512);
  EXPECT_LE(huge[3], 600);
  EXPECT_THAT(error_of("facedetection", {{"image_path", "portrait.jpg"}, {"enlarge", 0.5}}),
              HasSubstr("'enlarge' must be from 1 to 4"));
}

TEST_F(ImageTools, OcrReadsBackARenderedParagraphExactly) {
  ASSERT_TRUE(fs::exists(kFont));
  const std::string script =
      "from PIL import Image, ImageDraw, ImageFont\n"
      "font = ImageFont.truetype('" +
      std::string(kFont) +
      "', 30)\n"
      "image = Image.new('RGB', (1000, 220), 'white')\n"
      "draw = ImageDraw.Draw(image)\n"
      "draw.text((30, 30), 'Invoice 2047: three chairs at 49.90 each.', font=font, fill='black')\n"
      "draw.text((30, 90), 'Total due by 12 March 2026.', font=font, fill='black')\n"
      "image.save('" +
      (dir_.path() / "page.png").string() + "')\n";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + script + "\"").c_str()), 0);
  const core::Json result = call("ocr", {{"image_path", "page.png"}});
  EXPECT_EQ(result["text"],
            "Invoice 2047: three chairs at 49.90 each.\nTotal due by 12 March 2026.");
  ASSERT_EQ(result["lines"].size(), 2u);
  EXPECT_GT(result["lines"][0]["confidence"].get<double>(), 80);
  const auto box = result["lines"][1]["box"].get<std::vector<int>>();
  EXPECT_NEAR(box[1], 95, 15);  // the second line's top, where it was drawn
}

TEST_F(ImageTools, DrawCropAndTextMakeNewImagesAndKeepTheOriginal) {
  write_blank("photo.png", 200, 100);
  const std::string boxed =
      call("draw_box", {{"image_path", "photo.png"}, {"bbox", {10, 10, 60, 50}}, {"label", "cat"}});
  EXPECT_EQ(boxed, "photo_box.png");
  const cv::Mat drawn = cv::imread((dir_.path() / boxed).string());
  EXPECT_EQ(drawn.at<cv::Vec3b>(10, 30), cv::Vec3b(0, 0, 255));  // the top edge, red
  EXPECT_EQ(call("draw_box", {{"image_path", "photo.png"}, {"bbox", {1, 1, 5, 5}}}),
            "photo_box_2.png");  // never replaces
  const std::string cropped =
      call("crop", {{"image_path", "photo.png"}, {"bbox", {20, 10, 120, 60}}});
  const cv::Mat crop = cv::imread((dir_.path() / cropped).string());
  EXPECT_EQ(crop.cols, 100);
  EXPECT_EQ(crop.rows, 50);
  const std::string texted =
      call("add_text", {{"image_path", "photo.png"}, {"text", "hello"}, {"position", {5, 80}}});
  EXPECT_TRUE(fs::exists(dir_.path() / texted));
  const cv::Mat original = cv::imread((dir_.path() / "photo.png").string());
  EXPECT_EQ(cv::countNonZero(original.reshape(1) != 255), 0);  // untouched
}

TEST_F(ImageTools, BadInputGetsAnErrorTheModelCanActOn) {
  write_blank("photo.png", 200, 100);
  std::ofstream(dir_.path() / "empty.png");
  std::ofstream(dir_.path() / "corrupt.png") << "\x89PNG\r\n\x1a\n" << std::string(100, 'x');
  fs::create_symlink("/etc/hostname", dir_.path() / "link.png");
  for (const std::string tool : {"ocr", "facedetection"}) {
    EXPECT_THAT(error_of(tool, {{"image_path", "missing.png"}}), HasSubstr("does not exist"));
    EXPECT_THAT(error_of(tool, {{"image_path", "empty.png"}}), HasSubstr("empty"));
    EXPECT_THAT(error_of(tool, {{"image_path", "corrupt.png"}}), HasSubstr("corrupt"));
    EXPECT_THAT(error_of(tool, {{"image_path", "link.png"}}), HasSubstr("symbolic link"));
    EXPECT_THAT(error_of(tool, {{"image_path", "/etc/passwd"}}), HasSubstr("outside"));
    EXPECT_THAT(error_of(tool, {{"image_path", "../x.png"}}), HasSubstr("outside"));
    EXPECT_THAT(error_of(tool, {{"image_path", 3}}), HasSubstr("must be a string"));
  }
  EXPECT_THAT(error_of("crop", {{"image_path", "photo.png"}, {"bbox", {0, 0, 300, 50}}}),
              HasSubstr("inside the image of 200 x 100"));
  EXPECT_THAT(error_of("crop", {{"image_path", "photo.png"}, {"bbox", {50, 50, 10, 10}}}),
              HasSubstr("[x1, y1, x2, y2]"));
  EXPECT_THAT(error_of("draw_box", {{"image_path", "photo.png"}, {"bbox", "10,10,20,20"}}),
              HasSubstr("must be a list"));
  EXPECT_THAT(
      error_of("add_text", {{"image_path", "photo.png"}, {"text", "x"}, {"position", {500, 5}}}),
      HasSubstr("inside the image"));
}

}  // namespace
}  // namespace mat::tools

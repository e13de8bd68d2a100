// The segmentation tool on images the tests draw: a disk on a noisy, striped background, where
// the true mask is known, and the bad input a model produces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/core/temp_dir.h"
#include "mat/tools/builtin_tools.h"
#include "mat/tools/registry.h"

namespace mat::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Disk {
  cv::Point center;
  int radius;
  cv::Scalar colour;
};

// A textured background (grey-green noise with diagonal stripes) with slightly noisy disks on
// it, and the true mask of each disk.
cv::Mat draw_scene(cv::Size size, const std::vector<Disk>& disks, std::vector<cv::Mat>* truths) {
  cv::RNG rng(7);
  cv::Mat image(size, CV_8UC3);
  rng.fill(image, cv::RNG::UNIFORM, cv::Scalar(70, 110, 70), cv::Scalar(150, 190, 150));
  for (int x = -size.height; x < size.width; x += 23) {
    cv::line(image, {x, 0}, {x + size.height, size.height}, cv::Scalar(40, 60, 90), 3);
  }
  for (const Disk& disk : disks) {
    cv::Mat truth = cv::Mat::zeros(size, CV_8U);
    cv::circle(truth, disk.center, disk.radius, 255, cv::FILLED);
    cv::Mat noise(size, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(30));
    cv::Mat painted = cv::Mat(size, CV_8UC3, disk.colour) + noise;
    painted.copyTo(image, truth);
    truths->push_back(truth);
  }
  return image;
}

double iou(const cv::Mat& a, const cv::Mat& b) {
  return static_cast<double>(cv::countNonZero(a & b)) / cv::countNonZero(a | b);
}

class Segmentation : public ::testing::Test {
 protected:
  Segmentation() { registry_.add(make_segmentation_tool()); }

  core::Json call(const core::Json& args) { return registry_.call("segmentation", args, context_); }
  std::string error_of(const core::Json& args) {
    try {
      call(args);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "";
  }
  void write(const std::string& name, const cv::Mat& image) {
    ASSERT_TRUE(cv::imwrite((dir_.path() / name).string(), image));
  }
  cv::Mat read(const std::string& name) {
    return cv::imread((dir_.path() / name).string(), cv::IMREAD_UNCHANGED);
  }

  ToolRegistry registry_;
  core::TempDir dir_;
  ToolContext context_{dir_.path()};
};

TEST_F(Segmentation, IsABuiltinTool) {
  EXPECT_NE(builtin_registry().find("segmentation"), nullptr);
}

TEST_F(Segmentation, TheMaskOfABoxCoversTheDiskInIt) {
  std::vector<cv::Mat> truths;
  const cv::Mat image = draw_scene({400, 300}, {{{200, 150}, 70, {40, 40, 220}}}, &truths);
  write("scene.png", image);
  const core::Json result = call({{"image_path", "scene.png"}, {"boxes", {{120, 70, 280, 230}}}});
  ASSERT_EQ(result["masks"], core::Json::array({"scene_mask.png"}));
  const cv::Mat mask = read("scene_mask.png");
  ASSERT_EQ(mask.type(), CV_8UC1);
  ASSERT_EQ(mask.size(), image.size());
  EXPECT_EQ(cv::countNonZero((mask != 0) & (mask != 255)), 0);  // black and white only
  EXPECT_GT(iou(mask, truths[0]), 0.8);
  EXPECT_LT(cv::countNonZero(mask & ~truths[0]), cv::countNonZero(truths[0]) / 20);
  EXPECT_EQ(result["areas"], core::Json::array({cv::countNonZero(mask)}));

  EXPECT_EQ(result["overlay"], "scene_segmentation.png");
  const cv::Mat overlay = read("scene_segmentation.png");
  ASSERT_EQ(overlay.size(), image.size());
  EXPECT_EQ(overlay.at<cv::Vec3b>(70, 200), cv::Vec3b(0, 0, 255));  // the box's top edge
  const cv::Vec3b centre = overlay.at<cv::Vec3b>(150, 200);
  EXPECT_NE(centre, image.at<cv::Vec3b>(150, 200));  // tinted
  const cv::Vec3b outside = overlay.at<cv::Vec3b>(20, 20);
  EXPECT_EQ(outside, image.at<cv::Vec3b>(20, 20));  // untouched
}

TEST_F(Segmentation, EachBoxGetsItsOwnMaskAndNothingIsOverwritten) {
  std::vector<cv::Mat> truths;
  const cv::Mat image = draw_scene(
      {500, 260}, {{{120, 130}, 60, {200, 60, 40}}, {{370, 130}, 80, {30, 200, 230}}}, &truths);
  write("two.png", image);
  const core::Json boxes = {{50, 60, 190, 200}, {280, 40, 460, 220}};
  const core::Json result = call({{"image_path", "two.png"}, {"boxes", boxes}});
  ASSERT_EQ(result["masks"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_GT(iou(read(result["masks"][i]), truths[i]), 0.8) << "box " << i;
  }
  const core::Json again = call({{"image_path", "two.png"}, {"boxes", boxes[1]}});  // one box
  ASSERT_EQ(again["masks"].size(), 1u);
  EXPECT_NE(again["masks"][0], result["masks"][0]);
  EXPECT_NE(again["masks"][0], result["masks"][1]);
  EXPECT_NE(again["overlay"], result["overlay"]);
  EXPECT_GT(iou(read(again["masks"][0]), truths[1]), 0.8);
}

TEST_F(Segmentation, WithoutBoxesItFindsTheMainObjectOfTheWholeImage) {
  std::vector<cv::Mat> truths;
  const cv::Mat image = draw_scene({320, 240}, {{{160, 120}, 80, {40, 40, 220}}}, &truths);
  write("scene.png", image);
  const core::Json result = call({{"image_path", "scene.png"}});
  ASSERT_EQ(result["masks"].size(), 1u);
  EXPECT_GT(iou(read(result["masks"][0]), truths[0]), 0.8);
}

TEST_F(Segmentation, ALargeImageIsSegmentedDownscaledAndTheMaskScaledBack) {
  std::vector<cv::Mat> truths;
  const cv::Mat image = draw_scene({1600, 1200}, {{{800, 600}, 330, {40, 40, 220}}}, &truths);
  write("large.png", image);
  const core::Json result = call({{"image_path", "large.png"}});
  const cv::Mat mask = read(result["masks"][0]);
  ASSERT_EQ(mask.size(), image.size());
  EXPECT_EQ(cv::countNonZero((mask != 0) & (mask != 255)), 0);
  EXPECT_GT(iou(mask, truths[0]), 0.8);
}

TEST_F(Segmentation, BadInputGetsAnErrorTheModelCanActOn) {
  write("photo.png", cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(128)));
  write("tiny.png", cv::Mat(10, 10, CV_8UC3, cv::Scalar::all(128)));
  std::ofstream(dir_.path() / "empty.png");
  std::ofstream(dir_.path() / "corrupt.png") << "\x89PNG\r\n\x1a\n" << std::string(100, 'x');
  EXPECT_THAT(error_of({{"image_path", "missing.png"}}), HasSubstr("does not exist"));
  EXPECT_THAT(error_of({{"image_path", "empty.png"}}), HasSubstr("empty"));
  EXPECT_THAT(error_of({{"image_path", "corrupt.png"}}), HasSubstr("corrupt"));
  EXPECT_THAT(error_of({{"image_path", "/etc/passwd"}}), HasSubstr("outside"));
  EXPECT_THAT(error_of({{"image_path", "../photo.png"}}), HasSubstr("outside"));
  EXPECT_THAT(error_of({{"image_path", "tiny.png"}}), HasSubstr("too small to segment"));
  const auto with_boxes = [](core::Json boxes) {
    return core::Json{{"image_path", "photo.png"}, {"boxes", std::move(boxes)}};
  };
  EXPECT_THAT(error_of(with_boxes({{0, 0, 300, 50}})),
              HasSubstr("'boxes[0]' must be a box [x1, y1, x2, y2]"));
  EXPECT_THAT(error_of(with_boxes({{0, 0, 300, 50}})), HasSubstr("inside the image of 200 x 100"));
  EXPECT_THAT(error_of(with_boxes({{10, 10, 50, 50}, {1, 2, 3}})), HasSubstr("'boxes[1]'"));
  EXPECT_THAT(error_of(with_boxes({{50, 50, 10, 10}})), HasSubstr("[x1, y1, x2, y2]"));
  EXPECT_THAT(error_of(with_boxes("10,10,50,50")), HasSubstr("must be a list"));
  EXPECT_THAT(error_of(with_boxes(core::Json::array())), HasSubstr("leave it out"));
  EXPECT_THAT(error_of(with_boxes({{10, 10, 14, 60}})), HasSubstr("too small to segment"));
  core::Json many = core::Json::array();
  for (int i = 0; i < 17; ++i) many.push_back({10, 10, 50, 50});
  EXPECT_THAT(error_of(with_boxes(many)), HasSubstr("1 to 16 boxes"));
  // Nothing was written by the failed calls.
  EXPECT_FALSE(fs::exists(dir_.path() / "photo_mask.png"));
}

}  // namespace
}  // namespace mat::tools

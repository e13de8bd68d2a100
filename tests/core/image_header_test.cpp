#include "mat/core/image_header.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "mat/core/error.h"
#include "mat/core/image.h"

namespace mat::core {
namespace {

std::string encoded(const std::string& extension, int width, int height) {
  const cv::Mat pixels(height, width, CV_8UC3, cv::Scalar(10, 200, 30));
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(extension, pixels, bytes));
  return {bytes.begin(), bytes.end()};
}

class ImageHeader : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageHeader, ReadsTheSizeOfEveryFormatOpenCvWrites) {
  const std::optional<ImageSize> size = read_image_size(encoded(GetParam(), 37, 21));
  ASSERT_TRUE(size) << GetParam();
  EXPECT_EQ(size->width, 37u);
  EXPECT_EQ(size->height, 21u);
}

INSTANTIATE_TEST_SUITE_P(Formats, ImageHeader,
                         ::testing::Values(".png", ".jpg", ".bmp", ".tiff", ".webp"));

TEST(ImageHeaderEdges, TruncatedOrUnknownHasNoSize) {
  const std::string png = encoded(".png", 8, 8);
  EXPECT_FALSE(read_image_size(png.substr(0, 20)));
  EXPECT_FALSE(read_image_size("GIF8"));
  EXPECT_FALSE(read_image_size("not an image at all"));
  EXPECT_FALSE(read_image_size(std::string("\xff\xd8\xff\xe0\x00\x10", 6)));
}

// Regression: a tiny PNG claiming 20000 x 20000 pixels was decoded (gigabytes of memory).
TEST(ImageHeaderEdges, BudgetIsCheckedBeforeDecoding) {
  std::string png = encoded(".png", 4, 4);
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<char>((20000 >> (8 * (3 - i))) & 0xff);
    png[20 + i] = png[16 + i];
  }
  EXPECT_THROW(check_image_budget(png, "huge.png", ImageLimits{}), Error);
  try {
    encode_image_bytes(png, "huge.png", ImageLimits{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("20000 x 20000"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_image_budget(encoded(".png", 4, 4), "ok.png", ImageLimits{}));
}

}  // namespace
}  // namespace mat::core

#include "mat/core/image.h"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "mat/core/error.h"
#include "mat/core/image_cache.h"
#include "mat/core/temp_dir.h"

namespace mat::core {
namespace {

std::filesystem::path write_image(const std::filesystem::path& path, int width, int height) {
  cv::Mat pixels(height, width, CV_8UC3, cv::Scalar(10, 200, 30));
  EXPECT_TRUE(cv::imwrite(path.string(), pixels));
  return path;
}

TEST(Image, SniffsFormatsFromBytesNotNames) {
  EXPECT_EQ(sniff_image_mime("\x89PNG\r\n\x1a\n...."), "image/png");
  EXPECT_EQ(sniff_image_mime("\xff\xd8\xff\xe0...."), "image/jpeg");
  EXPECT_EQ(sniff_image_mime("GIF89a..."), "image/gif");
  using namespace std::string_view_literals;  // the WebP header holds NUL bytes
  EXPECT_EQ(sniff_image_mime("RIFF\x10\0\0\0WEBPVP8 "sv), "image/webp");
  EXPECT_EQ(sniff_image_mime("%PDF-1.7"), "");
  EXPECT_EQ(sniff_image_mime(""), "");
}

TEST(Image, KeepsSmallImagesAsTheyAre) {
  core::TempDir dir;
  // A PNG file with a .jpg name: the bytes decide the MIME type.
  const auto path = write_image(dir.path() / "small.png", 40, 30);
  std::filesystem::rename(path, dir.path() / "small.jpg");
  const EncodedImage image = encode_image(dir.path() / "small.jpg", ImageLimits{.max_side = 64});
  EXPECT_EQ(image.mime_type, "image/png");
  EXPECT_EQ(image.width, 40);
  EXPECT_EQ(image.height, 30);
  EXPECT_EQ(image.data_url().rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
}

TEST(Image, DownscalesLargeImagesKeepingAspect) {
  core::TempDir dir;
  const EncodedImage image =
      encode_image(write_image(dir.path() / "big.jpg", 400, 100), ImageLimits{.max_side = 100});
  EXPECT_EQ(image.mime_type, "image/jpeg");
  EXPECT_EQ(image.width, 100);
  EXPECT_EQ(image.height, 25);
}

TEST(Image, MissingFileNamesThePath) {
  try {
    encode_image("/nonexistent/photo.png", ImageLimits{.max_side = 100});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/photo.png"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
}

TEST(Image, CorruptImageIsRejectedClearly) {
  core::TempDir dir;
  std::ofstream(dir.path() / "broken.png") << "\x89PNG\r\n\x1a\n this is not really a png";
  try {
    encode_image(dir.path() / "broken.png", ImageLimits{.max_side = 100});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos);
  }
  std::ofstream(dir.path() / "text.png") << "hello";
  EXPECT_THROW(encode_image(dir.path() / "text.png", ImageLimits{.max_side = 100}), Error);
}

TEST(ImageCache, EncodesOnceAndAgainWhenTheFileChanges) {
  core::TempDir dir;
  const auto path = write_image(dir.path() / "plot.png", 20, 20);
  ImageCache cache(ImageLimits{.max_side = 100});
  const auto first = cache.get(path);
  EXPECT_EQ(cache.get(path), first);  // same encoding shared, not re-encoded
  write_image(path, 30, 10);
  const auto second = cache.get(path);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->width, 30);
}

}  // namespace
}  // namespace mat::core

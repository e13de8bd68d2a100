#include "mat/engine/image_processor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "engine/golden.h"
#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/safetensors.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;

ImageProcessorConfig golden_config() {
  return load_image_processor_config(testing::golden_dir() / "model/preprocessor_config.json");
}

RgbImage load_png(const std::string& relative) {
  return decode_image(core::read_file(testing::golden_dir() / relative), relative);
}

// Tolerance of pixel_values against the reference: none. Every value is the same float32, bit
// for bit (PIL's integer resampling reproduced, then the reference's float64 rescale and float32
// normalisation).
TEST(ImageProcessorGolden, PixelValuesAreBitIdentical) {
  const core::Json images = testing::golden_json("images/images.json");
  const SafetensorsFile expected =
      SafetensorsFile::open(testing::golden_dir() / "images/processed.safetensors");
  const ImageProcessorConfig config = golden_config();
  ASSERT_GE(images.size(), 5u);
  for (auto it = images.begin(); it != images.end(); ++it) {
    const std::string name = it.key();
    const RgbImage image = load_png(it.value()["file"].get<std::string>());
    EXPECT_EQ(image.width, it.value()["width"].get<int>());
    EXPECT_EQ(image.height, it.value()["height"].get<int>());
    const ProcessedImage p = preprocess_image(image, config);
    const std::vector<std::int64_t> grid = expected.to_i64(name + ".image_grid_thw");
    EXPECT_EQ((std::vector<std::int64_t>{p.grid_t, p.grid_h, p.grid_w}), grid) << name;
    const TensorInfo& info = expected.at(name + ".pixel_values");
    EXPECT_EQ(info.shape, (std::vector<std::int64_t>{p.num_patches(), p.patch_dim})) << name;
    const std::vector<float> want = expected.to_f32(name + ".pixel_values");
    ASSERT_EQ(p.pixel_values.size(), want.size()) << name;
    std::size_t differing = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (std::memcmp(&p.pixel_values[i], &want[i], sizeof(float)) != 0 && ++differing <= 5) {
        ADD_FAILURE() << name << " element " << i << ": " << p.pixel_values[i] << " != " << want[i];
      }
    }
    EXPECT_EQ(differing, 0u) << name;
  }
}

TEST(ImageProcessorGolden, PromptPixelValuesConcatenateTheImages) {
  const SafetensorsFile prompt =
      SafetensorsFile::open(testing::golden_dir() / "prompts/two_images.safetensors");
  const ImageProcessorConfig config = golden_config();
  std::vector<float> all;
  for (const char* name : {"images/wide.png", "images/small.png"}) {
    const ProcessedImage p = preprocess_image(load_png(name), config);
    all.insert(all.end(), p.pixel_values.begin(), p.pixel_values.end());
  }
  EXPECT_EQ(all, prompt.to_f32("pixel_values"));
}

TEST(ImageProcessorGolden, BicubicResizeMatchesPil) {
  const core::Json cases = testing::golden_json("images/resize_cases.json");
  const SafetensorsFile tensors =
      SafetensorsFile::open(testing::golden_dir() / "images/resize_cases.safetensors");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string key = std::to_string(i);
    const TensorInfo& in = tensors.at(key + ".input");
    const auto bytes = tensors.bytes(in);
    RgbImage image{static_cast<int>(in.shape[1]), static_cast<int>(in.shape[0]),
                   std::vector<std::uint8_t>(
                       reinterpret_cast<const std::uint8_t*>(bytes.data()),
                       reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size())};
    const int out_h = cases[i]["out"][0].get<int>();
    const int out_w = cases[i]["out"][1].get<int>();
    const RgbImage resized = resize_bicubic(image, out_w, out_h);
    const auto want = tensors.bytes(tensors.at(key + ".output"));
    ASSERT_EQ(resized.pixels.size(), want.size()) << cases[i].dump();
    EXPECT_EQ(std::memcmp(resized.pixels.data(), want.data(), want.size()), 0) << cases[i].dump();
  }
}

TEST(ImageProcessorGolden, SmartResizeMatchesTheReference) {
  for (const core::Json& c : testing::golden_json("smart_resize.json")) {
    const int h = c["height"].get<int>();
    const int w = c["width"].get<int>();
    const auto mn = c["min_pixels"].get<std::int64_t>();
    const auto mx = c["max_pixels"].get<std::int64_t>();
    if (c["result"].is_string()) {
      EXPECT_THAT([&] { smart_resize(h, w, 28, mn, mx); },
                  ::testing::ThrowsMessage<core::Error>(HasSubstr("aspect ratios up to 200")))
          << c.dump();
    } else {
      const ResizedSize r = smart_resize(h, w, 28, mn, mx);
      EXPECT_EQ(r.height, c["result"][0].get<int>()) << c.dump();
      EXPECT_EQ(r.width, c["result"][1].get<int>()) << c.dump();
    }
  }
}

TEST(ImageProcessor, RefusesImagesItCannotTake) {
  const ImageProcessorConfig config = golden_config();
  RgbImage sliver{1, 300, std::vector<std::uint8_t>(900, 128)};
  EXPECT_THAT([&] { preprocess_image(sliver, config); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("too narrow")));
  RgbImage empty{0, 0, {}};
  EXPECT_THAT([&] { preprocess_image(empty, config); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("no area")));
  const std::string png = core::read_file(testing::golden_dir() / "images/landscape.png");
  EXPECT_THAT([&] { decode_image(png, "big.png", /*max_pixels=*/1000); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("big.png' is 90x60, more than the 1000 pixels")));
  EXPECT_THAT([&] { decode_image("not an image", "x.txt"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("'x.txt' is not a PNG")));
  EXPECT_THAT([&] { decode_image(png.substr(0, 200), "cut.png"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("cut.png")));
}

TEST(ImageProcessor, TinyImagesAreScaledUpToTheMinimum) {
  const ImageProcessorConfig config = golden_config();
  RgbImage dot{1, 1, {10, 20, 30}};
  const ProcessedImage p = preprocess_image(dot, config);
  EXPECT_EQ(p.grid_h, 4);
  EXPECT_EQ(p.grid_w, 4);
  EXPECT_EQ(image_token_count(p, 2), 4);
}

TEST(ImageProcessor, PatchOrderIsMergeWindowMajor) {
  // A 56x56 image (no resize with these limits) whose pixel value encodes its position.
  ImageProcessorConfig config;
  config.min_pixels = 56 * 56;
  config.max_pixels = 56 * 56;
  config.do_rescale = false;
  config.do_normalize = false;
  RgbImage image{56, 56, std::vector<std::uint8_t>(56 * 56 * 3)};
  for (int y = 0; y < 56; ++y)
    for (int x = 0; x < 56; ++x) {
      image.pixels[static_cast<std::size_t>((y * 56 + x) * 3 + 0)] = static_cast<std::uint8_t>(y);
      image.pixels[static_cast<std::size_t>((y * 56 + x) * 3 + 1)] = static_cast<std::uint8_t>(x);
      image.pixels[static_cast<std::size_t>((y * 56 + x) * 3 + 2)] = 7;
    }
  const ProcessedImage p = preprocess_image(image, config);
  ASSERT_EQ(p.num_patches(), 16);
  ASSERT_EQ(p.patch_dim, 1176);
  // Row 2 is the third patch of the first 2x2 window: patch row 1, patch column 0.
  const float* row = p.pixel_values.data() + 2 * 1176;
  EXPECT_EQ(row[0], 14.0f);         // channel 0 (y) at its top-left
  EXPECT_EQ(row[196], 14.0f);       // the temporal copy
  EXPECT_EQ(row[392 + 13], 13.0f);  // channel 1 (x), rightmost column
  EXPECT_EQ(row[784 + 195], 7.0f);  // channel 2
  // Row 4 starts the second window: patch row 0, patch column 2.
  EXPECT_EQ(p.pixel_values[4 * 1176 + 392], 28.0f);
}

}  // namespace
}  // namespace mat::engine

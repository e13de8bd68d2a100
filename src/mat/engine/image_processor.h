// Qwen2-VL's image preprocessing, reproducing the reference (transformers' Qwen2VLImageProcessor,
// PIL backend) bit for bit: smart resize to multiples of patch*merge within the pixel budget,
// PIL's bicubic resampling on 8-bit pixels, rescale and normalise in float32, and the flattening
// of 14x14 patches (repeated over the temporal patch) in merge-window order.
//
//   RgbImage image = decode_image(bytes, "photo.png");
//   ProcessedImage p = preprocess_image(image, config);   // p.pixel_values: [patches, 1176]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mat/engine/qwen2vl_config.h"

namespace mat::engine {

// 8-bit RGB, rows top to bottom, pixels interleaved (R, G, B).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3
};

// Decodes PNG, JPEG, WebP, ... to RGB as the reference's convert("RGB") does: grey is repeated,
// transparency is composited onto white. Throws core::Error naming `name` when the bytes are not
// a decodable image or exceed `max_pixels` (checked before decoding).
RgbImage decode_image(std::string_view bytes, const std::string& name,
                      std::int64_t max_pixels = 40'000'000);

struct ResizedSize {
  int height = 0;
  int width = 0;
};

// The reference's smart_resize: both sides multiples of `factor`, height * width within
// [min_pixels, max_pixels], the aspect ratio kept as closely as possible (Python's rounding,
// halves to even). Throws core::Error when the aspect ratio exceeds 200 or a side is zero.
ResizedSize smart_resize(int height, int width, int factor, std::int64_t min_pixels,
                         std::int64_t max_pixels);

// PIL's Image.resize(..., BICUBIC) on an 8-bit RGB image, bit-exact: separable passes with
// fixed-point coefficients, the vertical pass first when the height shrinks more than twice as
// much as the width, each pass rounded to 8 bits.
RgbImage resize_bicubic(const RgbImage& image, int width, int height);

struct ProcessedImage {
  std::vector<float>
      pixel_values;  // [grid_t * grid_h * grid_w, channels * temporal * patch * patch]
  std::int64_t grid_t = 1;
  std::int64_t grid_h = 0;
  std::int64_t grid_w = 0;
  std::int64_t patch_dim = 0;  // channels * temporal_patch_size * patch_size^2

  std::int64_t num_patches() const { return grid_t * grid_h * grid_w; }
};

// The whole pipeline for one image. Throws core::Error for an image the processor refuses.
ProcessedImage preprocess_image(const RgbImage& image, const ImageProcessorConfig& config);

// How many <|image_pad|> tokens an image of this grid takes in the prompt.
std::int64_t image_token_count(const ProcessedImage& image, int merge_size);

}  // namespace mat::engine

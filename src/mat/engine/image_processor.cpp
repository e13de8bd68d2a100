#include "mat/engine/image_processor.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/core/error.h"
#include "mat/core/image_header.h"

namespace mat::engine {
namespace {

// PIL's fixed-point resampling: coefficients scaled by 2^22, accumulators in 32-bit ints.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBicubicSupport = 2.0;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// For each output sample: the first input sample it reads and its integer weights.
struct Kernel {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;  // out_size * width
  int width = 0;
};

Kernel make_kernel(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filter_scale;
  Kernel k;
  k.width = static_cast<int>(std::ceil(support)) * 2 + 1;
  k.first.resize(static_cast<std::size_t>(out_size));
  k.count.resize(static_cast<std::size_t>(out_size));
  k.weights.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(k.width), 0);
  const double inv_filter_scale = 1.0 / filter_scale;
  std::vector<double> w(static_cast<std::size_t>(k.width));
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    // Truncation toward zero of the rounded bounds, as the reference does.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      w[static_cast<std::size_t>(i)] = bicubic((i + lo - center + 0.5) * inv_filter_scale);
      total += w[static_cast<std::size_t>(i)];
    }
    for (int i = 0; i < n; ++i) {
      double v = w[static_cast<std::size_t>(i)];
      if (total != 0.0) v /= total;
      const double scaled = v * (1 << kPrecisionBits);
      k.weights[static_cast<std::size_t>(o) * static_cast<std::size_t>(k.width) +
                static_cast<std::size_t>(i)] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    k.first[static_cast<std::size_t>(o)] = lo;
    k.count[static_cast<std::size_t>(o)] = n;
  }
  return k;
}

std::uint8_t clip8(std::int32_t v) {
  v >>= kPrecisionBits;  // arithmetic shift: floors, as the reference's table lookup does
  return static_cast<std::uint8_t>(std::clamp(v, 0, 255));
}

RgbImage horizontal_pass(const RgbImage& in, int out_width) {
  const Kernel k = make_kernel(in.width, out_width);
  RgbImage out{out_width, in.height,
               std::vector<std::uint8_t>(static_cast<std::size_t>(out_width) * in.height * 3)};
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* row = in.pixels.data() + static_cast<std::size_t>(y) * in.width * 3;
    std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(y) * out_width * 3;
    for (int x = 0; x < out_width; ++x) {
      const std::int32_t* w = k.weights.data() + static_cast<std::size_t>(x) * k.width;
      const std::uint8_t* src =
          row + static_cast<std::size_t>(k.first[static_cast<std::size_t>(x)]) * 3;
      for (int c = 0; c < 3; ++c) {
        std::int32_t acc = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < k.count[static_cast<std::size_t>(x)]; ++i) acc += src[i * 3 + c] * w[i];
        dst[x * 3 + c] = clip8(acc);
      }
    }
  }
  return out;
}

RgbImage vertical_pass(const RgbImage& in, int out_height) {
  const Kernel k = make_kernel(in.height, out_height);
  const std::size_t stride = static_cast<std::size_t>(in.width) * 3;
  RgbImage out{in.width, out_height, std::vector<std::uint8_t>(stride * out_height)};
  for (int y = 0; y < out_height; ++y) {
    const std::int32_t* w = k.weights.data() + static_cast<std::size_t>(y) * k.width;
    const std::uint8_t* src =
        in.pixels.data() + static_cast<std::size_t>(k.first[static_cast<std::size_t>(y)]) * stride;
    std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(y) * stride;
    for (std::size_t x = 0; x < stride; ++x) {
      std::int32_t acc = 1 << (kPrecisionBits - 1);
      for (int i = 0; i < k.count[static_cast<std::size_t>(y)]; ++i)
        acc += src[static_cast<std::size_t>(i) * stride + x] * w[i];
      dst[x] = clip8(acc);
    }
  }
  return out;
}

// Python's round(): to nearest, halves to even (the default floating-point rounding mode).
double round_half_even(double x) {
  return std::nearbyint(x);
}

}  // namespace

RgbImage decode_image(std::string_view bytes, const std::string& name, std::int64_t max_pixels) {
  const std::optional<core::ImageSize> size = core::read_image_size(bytes);
  if (!size) {
    throw core::Error("image '" + name +
                      "' is not a PNG, JPEG, GIF, WebP, BMP or TIFF file (or is truncated)");
  }
  if (size->pixels() > static_cast<std::uint64_t>(max_pixels)) {
    throw core::Error("image '" + name + "' is " + std::to_string(size->width) + "x" +
                      std::to_string(size->height) + ", more than the " +
                      std::to_string(max_pixels) + " pixels the processor accepts; downscale it");
  }
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat m = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
  if (m.empty())
    throw core::Error("image '" + name + "' could not be decoded: the file is damaged");
  if (m.depth() == CV_16U) {
    if (m.channels() == 1) {
      throw core::Error(
          "image '" + name +
          "' is 16-bit greyscale, which the processor does not read; convert it to 8-bit");
    }
    m.convertTo(m, CV_8U, 1.0 / 256.0);  // the reference keeps the high byte
  } else if (m.depth() != CV_8U) {
    throw core::Error("image '" + name +
                      "' has an unsupported sample type; convert it to 8-bit RGB");
  }

  RgbImage out{m.cols, m.rows,
               std::vector<std::uint8_t>(static_cast<std::size_t>(m.cols) * m.rows * 3)};
  for (int y = 0; y < m.rows; ++y) {
    std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(y) * m.cols * 3;
    const std::uint8_t* src = m.ptr<std::uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      std::uint8_t* p = dst + static_cast<std::size_t>(x) * 3;
      if (m.channels() == 1) {
        p[0] = p[1] = p[2] = src[x];
      } else if (m.channels() == 3) {
        p[0] = src[x * 3 + 2];
        p[1] = src[x * 3 + 1];
        p[2] = src[x * 3 + 0];
      } else if (m.channels() == 4) {
        // Composited onto opaque white with the reference's integer arithmetic (7 fraction bits,
        // division by 255 as two shifts).
        const std::uint32_t a = src[x * 4 + 3];
        for (int c = 0; c < 3; ++c) {
          const std::uint32_t s = src[x * 4 + (2 - c)];
          if (a == 0) {
            p[c] = 255;
            continue;
          }
          const std::uint32_t t = s * a * 128 + 255 * (255 - a) * 128 + (0x80u << 7);
          p[c] = static_cast<std::uint8_t>((((t >> 8) + t) >> 8) >> 7);
        }
      } else {
        throw core::Error("image '" + name + "' has " + std::to_string(m.channels()) +
                          " channels; the processor reads 1, 3 or 4");
      }
    }
  }
  return out;
}

ResizedSize smart_resize(int height, int width, int factor, std::int64_t min_pixels,
                         std::int64_t max_pixels) {
  if (height <= 0 || width <= 0) {
    throw core::Error("image of " + std::to_string(width) + "x" + std::to_string(height) +
                      " pixels has no area");
  }
  const double ratio = static_cast<double>(std::max(height, width)) / std::min(height, width);
  if (ratio > 200) {
    throw core::Error(
        "image of " + std::to_string(width) + "x" + std::to_string(height) +
        " pixels is too narrow: the processor takes aspect ratios up to 200, this one is " +
        std::to_string(ratio) + "; crop or pad it");
  }
  const double f = factor;
  double h_bar = round_half_even(height / f) * f;
  double w_bar = round_half_even(width / f) * f;
  if (h_bar * w_bar > static_cast<double>(max_pixels)) {
    const double beta = std::sqrt(static_cast<double>(static_cast<std::int64_t>(height) * width) /
                                  static_cast<double>(max_pixels));
    h_bar = std::max(f, std::floor(height / beta / f) * f);
    w_bar = std::max(f, std::floor(width / beta / f) * f);
  } else if (h_bar * w_bar < static_cast<double>(min_pixels)) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) /
                                  static_cast<double>(static_cast<std::int64_t>(height) * width));
    h_bar = std::ceil(height * beta / f) * f;
    w_bar = std::ceil(width * beta / f) * f;
  }
  return {static_cast<int>(h_bar), static_cast<int>(w_bar)};
}

RgbImage resize_bicubic(const RgbImage& image, int width, int height) {
  if (width <= 0 || height <= 0 || image.width <= 0 || image.height <= 0) {
    throw core::Error("cannot resize a " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + " image to " + std::to_string(width) + "x" +
                      std::to_string(height));
  }
  const bool horizontal = width != image.width;
  const bool vertical = height != image.height;
  // The reference runs the vertical pass first when the height shrinks by more than twice as
  // many pixels as the width does (the horizontal pass then has fewer rows to do).
  const bool vertical_first =
      image.height - height > 0 && image.height - height > (image.width - width) * 2;
  RgbImage out = image;
  if (vertical_first) {
    if (vertical) out = vertical_pass(out, height);
    if (horizontal) out = horizontal_pass(out, width);
  } else {
    if (horizontal) out = horizontal_pass(out, width);
    if (vertical) out = vertical_pass(out, height);
  }
  return out;
}

ProcessedImage preprocess_image(const RgbImage& image, const ImageProcessorConfig& config) {
  if (image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    throw core::Error("image buffer holds " + std::to_string(image.pixels.size()) + " bytes, not " +
                      std::to_string(image.width) + "x" + std::to_string(image.height) + "x3");
  }
  const int patch = config.patch_size;
  const int merge = config.merge_size;
  const int temporal = config.temporal_patch_size;
  RgbImage resized = image;
  if (config.do_resize) {
    const ResizedSize size = smart_resize(image.height, image.width, patch * merge,
                                          config.min_pixels, config.max_pixels);
    resized = resize_bicubic(image, size.width, size.height);
  }
  if (resized.height % (patch * merge) != 0 || resized.width % (patch * merge) != 0) {
    throw core::Error("image of " + std::to_string(resized.width) + "x" +
                      std::to_string(resized.height) + " pixels is not a multiple of " +
                      std::to_string(patch * merge) +
                      " on each side and resizing is off in the processor config");
  }

  // Per-channel lookup of the float32 value of each byte: rescale in double then round to float,
  // then normalise in float, exactly the reference's order of operations.
  std::array<std::array<float, 256>, 3> value{};
  for (int c = 0; c < 3; ++c) {
    const auto mean = static_cast<float>(config.image_mean[static_cast<std::size_t>(c)]);
    const auto stdev = static_cast<float>(config.image_std[static_cast<std::size_t>(c)]);
    for (int b = 0; b < 256; ++b) {
      float v = static_cast<float>(b);
      if (config.do_rescale) v = static_cast<float>(static_cast<double>(b) * config.rescale_factor);
      if (config.do_normalize) v = (v - mean) / stdev;
      value[static_cast<std::size_t>(c)][static_cast<std::size_t>(b)] = v;
    }
  }

  ProcessedImage out;
  out.grid_t = 1;
  out.grid_h = resized.height / patch;
  out.grid_w = resized.width / patch;
  out.patch_dim = 3LL * temporal * patch * patch;
  out.pixel_values.resize(static_cast<std::size_t>(out.num_patches() * out.patch_dim));
  // Rows in merge-window order (block row, block column, row in block, column in block); within a
  // row: channel, temporal copy, y, x in the patch.
  const std::int64_t blocks_w = out.grid_w / merge;
  float* dst = out.pixel_values.data();
  for (std::int64_t bh = 0; bh < out.grid_h / merge; ++bh) {
    for (std::int64_t bw = 0; bw < blocks_w; ++bw) {
      for (int mh = 0; mh < merge; ++mh) {
        for (int mw = 0; mw < merge; ++mw) {
          const std::int64_t y0 = (bh * merge + mh) * patch;
          const std::int64_t x0 = (bw * merge + mw) * patch;
          for (int c = 0; c < 3; ++c) {
            for (int t = 0; t < temporal; ++t) {
              for (int py = 0; py < patch; ++py) {
                const std::uint8_t* row =
                    resized.pixels.data() + ((y0 + py) * resized.width + x0) * 3;
                for (int px = 0; px < patch; ++px) {
                  *dst++ = value[static_cast<std::size_t>(c)][row[px * 3 + c]];
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

std::int64_t image_token_count(const ProcessedImage& image, int merge_size) {
  return image.num_patches() / (static_cast<std::int64_t>(merge_size) * merge_size);
}

}  // namespace mat::engine

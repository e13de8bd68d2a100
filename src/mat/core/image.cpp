#include "mat/core/image.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mat/core/base64.h"
#include "mat/core/error.h"
#include "mat/core/image_header.h"
#include "mat/core/json.h"

namespace mat::core {

std::string sniff_image_mime(std::string_view b) {
  auto starts = [&](std::string_view magic, size_t at = 0) {
    return b.size() >= at + magic.size() && b.substr(at, magic.size()) == magic;
  };
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("\xff\xd8\xff")) return "image/jpeg";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  if (starts("BM")) return "image/bmp";
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) {
    return "image/tiff";
  }
  return "";
}

bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array kImageExtensions = {".png",  ".jpg", ".jpeg", ".gif",
                                                  ".webp", ".bmp", ".tif",  ".tiff"};
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) != kImageExtensions.end();
}

void check_image_budget(std::string_view bytes, const std::string& name,
                        const ImageLimits& limits) {
  const std::string quoted = "'" + name + "'";
  if (sniff_image_mime(bytes).empty()) {
    throw Error(quoted +
                " is not an image mat can read (expected PNG, JPEG, GIF, WebP, BMP or TIFF)");
  }
  const std::optional<ImageSize> size = read_image_size(bytes);
  if (!size || size->pixels() == 0) {
    throw Error(quoted +
                " has no readable image size in its header: the file is corrupt or truncated");
  }
  if (size->pixels() > limits.max_pixels) {
    throw Error(quoted + " is " + std::to_string(size->width) + " x " +
                std::to_string(size->height) + " pixels, more than the " +
                std::to_string(limits.max_pixels) +
                " allowed: save a smaller image (resize it before saving)");
  }
}

EncodedImage encode_image(const std::filesystem::path& path, const ImageLimits& limits) {
  std::error_code error;
  const auto bytes_on_disk = std::filesystem::file_size(path, error);
  if (!error && bytes_on_disk > limits.max_file_bytes) {
    throw Error("'" + path.string() + "' is " + std::to_string(bytes_on_disk) +
                " bytes, more than the " + std::to_string(limits.max_file_bytes) +
                " allowed for an image");
  }
  EncodedImage image = encode_image_bytes(read_file(path), path.string(), limits);
  image.source = path;
  return image;
}

EncodedImage encode_image_bytes(std::string bytes, const std::string& name,
                                const ImageLimits& limits) {
  check_image_budget(bytes, name, limits);
  EncodedImage image;
  image.mime_type = sniff_image_mime(bytes);
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
  cv::Mat pixels = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
  if (pixels.empty()) {
    throw Error("'" + name + "' looks like " + image.mime_type +
                " but cannot be decoded: the file is corrupt or truncated");
  }
  image.width = pixels.cols;
  image.height = pixels.rows;
  const int longest = std::max(pixels.cols, pixels.rows);
  if (limits.max_side > 0 && longest > limits.max_side) {
    const double scale = static_cast<double>(limits.max_side) / longest;
    cv::Mat smaller;
    cv::resize(pixels, smaller, cv::Size(), scale, scale, cv::INTER_AREA);
    const bool jpeg = image.mime_type == "image/jpeg";
    std::vector<uchar> encoded;
    if (!cv::imencode(jpeg ? ".jpg" : ".png", smaller, encoded)) {
      throw Error("re-encoding the downscaled '" + name + "' failed");
    }
    bytes.assign(encoded.begin(), encoded.end());
    image.mime_type = jpeg ? "image/jpeg" : "image/png";
    image.width = smaller.cols;
    image.height = smaller.rows;
  } else if (image.mime_type == "image/tiff" || image.mime_type == "image/bmp") {
    // Chat APIs accept PNG/JPEG/GIF/WebP only; convert the rest losslessly.
    std::vector<uchar> encoded;
    if (!cv::imencode(".png", pixels, encoded)) {
      throw Error("converting '" + name + "' to PNG failed");
    }
    bytes.assign(encoded.begin(), encoded.end());
    image.mime_type = "image/png";
  }
  image.base64 = base64_encode(bytes);
  return image;
}

}  // namespace mat::core

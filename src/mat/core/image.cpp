#include "mat/core/image.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mat/core/base64.h"
#include "mat/core/error.h"
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

EncodedImage encode_image(const std::filesystem::path& path, int max_side) {
  std::string bytes = read_file(path);
  EncodedImage image;
  image.source = path;
  image.mime_type = sniff_image_mime(bytes);
  if (image.mime_type.empty()) {
    throw Error("'" + path.string() +
                "' is not an image mat can read (expected PNG, JPEG, GIF, WebP, BMP or TIFF)");
  }
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
  cv::Mat pixels = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
  if (pixels.empty()) {
    throw Error("'" + path.string() + "' looks like " + image.mime_type +
                " but cannot be decoded: the file is corrupt or truncated");
  }
  image.width = pixels.cols;
  image.height = pixels.rows;
  const int longest = std::max(pixels.cols, pixels.rows);
  if (max_side > 0 && longest > max_side) {
    const double scale = static_cast<double>(max_side) / longest;
    cv::Mat smaller;
    cv::resize(pixels, smaller, cv::Size(), scale, scale, cv::INTER_AREA);
    const bool jpeg = image.mime_type == "image/jpeg";
    std::vector<uchar> encoded;
    if (!cv::imencode(jpeg ? ".jpg" : ".png", smaller, encoded)) {
      throw Error("re-encoding the downscaled '" + path.string() + "' failed");
    }
    bytes.assign(encoded.begin(), encoded.end());
    image.mime_type = jpeg ? "image/jpeg" : "image/png";
    image.width = smaller.cols;
    image.height = smaller.rows;
  } else if (image.mime_type == "image/tiff" || image.mime_type == "image/bmp") {
    // Chat APIs accept PNG/JPEG/GIF/WebP only; convert the rest losslessly.
    std::vector<uchar> encoded;
    if (!cv::imencode(".png", pixels, encoded)) {
      throw Error("converting '" + path.string() + "' to PNG failed");
    }
    bytes.assign(encoded.begin(), encoded.end());
    image.mime_type = "image/png";
  }
  image.base64 = base64_encode(bytes);
  return image;
}

}  // namespace mat::core

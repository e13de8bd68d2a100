// Images on disk, prepared for a model: type sniffed from the bytes, downscaled when too large,
// base64-encoded once so every step of a run can reuse the same encoding.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace mat::core {

struct EncodedImage {
  std::filesystem::path source;  // the file it was read from
  std::string mime_type;         // "image/png", "image/jpeg", ...
  int width = 0;                 // size after any downscaling
  int height = 0;
  std::string base64;  // the (possibly re-encoded) bytes

  std::string data_url() const { return "data:" + mime_type + ";base64," + base64; }
};

// The MIME type of an image judged from its leading bytes (PNG, JPEG, GIF, WebP, BMP, TIFF),
// or an empty string when the bytes are not a known image format.
std::string sniff_image_mime(std::string_view bytes);

// Reads, validates and encodes an image file. When its longer side exceeds `max_side` pixels it
// is downscaled (aspect ratio kept) and re-encoded (JPEG stays JPEG, everything else becomes PNG).
// Throws core::Error naming the file when it is missing, unreadable or not a decodable image.
EncodedImage encode_image(const std::filesystem::path& path, int max_side);

// True when the file name has an image extension the agent shows to the model.
bool has_image_extension(const std::filesystem::path& path);

}  // namespace mat::core

// Images on disk, prepared for a model: type sniffed from the bytes, downscaled when too large,
// base64-encoded once so every step of a run can reuse the same encoding.
#pragma once

#include <cstddef>
#include <cstdint>
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

// What the host agrees to decode. The pixel budget is checked against the file's header before
// any decoding, so a small file that would expand to gigabytes is refused cheaply.
struct ImageLimits {
  int max_side = 1280;                    // longer side sent to the model; larger is downscaled
  std::uint64_t max_pixels = 40'000'000;  // width x height in the header; larger is refused
  std::size_t max_file_bytes = size_t{64} << 20;  // larger files are not read at all
};

// Reads, validates and encodes an image file. When its longer side exceeds `limits.max_side`
// pixels it is downscaled (aspect ratio kept) and re-encoded (JPEG stays JPEG, everything else
// becomes PNG). Throws core::Error naming the file when it is missing, unreadable, over a limit
// or not a decodable image.
EncodedImage encode_image(const std::filesystem::path& path, const ImageLimits& limits);

// The same for bytes already read; `name` is what error messages call them.
EncodedImage encode_image_bytes(std::string bytes, const std::string& name,
                                const ImageLimits& limits);

// Throws core::Error naming `name` unless `bytes` are a known image format whose header size fits
// `limits` (the check encode_image_bytes makes before decoding).
void check_image_budget(std::string_view bytes, const std::string& name, const ImageLimits& limits);

// True when the file name has an image extension the agent shows to the model.
bool has_image_extension(const std::filesystem::path& path);

}  // namespace mat::core

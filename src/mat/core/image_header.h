// The pixel size of an image read from its header alone, so that a budget can be checked before
// anything is decoded (a 20000 x 20000 PNG is a few hundred kilobytes on disk and gigabytes in
// memory once decoded).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mat::core {

struct ImageSize {
  std::uint64_t width = 0;
  std::uint64_t height = 0;
  std::uint64_t pixels() const { return width * height; }
};

// PNG, JPEG, GIF, WebP, BMP and TIFF; nullopt when the header is missing, truncated or not one of
// those formats.
std::optional<ImageSize> read_image_size(std::string_view bytes);

}  // namespace mat::core

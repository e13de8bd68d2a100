#include "mat/core/image_header.h"

#include <cstdlib>

namespace mat::core {
namespace {

// Bounds-checked readers: a header cut short reads as "no size", never past the end.
struct Bytes {
  std::string_view data;
  bool has(size_t at, size_t n) const { return at <= data.size() && n <= data.size() - at; }
  std::uint32_t u8(size_t at) const { return static_cast<unsigned char>(data[at]); }
  std::uint32_t be16(size_t at) const { return u8(at) << 8 | u8(at + 1); }
  std::uint32_t le16(size_t at) const { return u8(at) | u8(at + 1) << 8; }
  std::uint32_t le24(size_t at) const { return le16(at) | u8(at + 2) << 16; }
  std::uint32_t be32(size_t at) const { return be16(at) << 16 | be16(at + 2); }
  std::uint32_t le32(size_t at) const { return le16(at) | le16(at + 2) << 16; }
  bool starts(std::string_view magic, size_t at = 0) const {
    return has(at, magic.size()) && data.substr(at, magic.size()) == magic;
  }
};

std::optional<ImageSize> png_size(const Bytes& b) {
  if (!b.has(16, 8) || !b.starts("IHDR", 12)) return std::nullopt;
  return ImageSize{b.be32(16), b.be32(20)};
}

// Walks the marker segments up to the first start-of-frame.
std::optional<ImageSize> jpeg_size(const Bytes& b) {
  size_t at = 2;
  while (b.has(at, 4)) {
    if (b.u8(at) != 0xff) return std::nullopt;
    const std::uint32_t marker = b.u8(at + 1);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {  // no length field
      at += 2;
      continue;
    }
    const bool frame =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      if (!b.has(at + 5, 4)) return std::nullopt;
      return ImageSize{b.be16(at + 7), b.be16(at + 5)};
    }
    at += 2 + b.be16(at + 2);
  }
  return std::nullopt;
}

std::optional<ImageSize> webp_size(const Bytes& b) {
  if (b.starts("VP8 ", 12) && b.has(26, 4)) {
    return ImageSize{b.le16(26) & 0x3fff, b.le16(28) & 0x3fff};
  }
  if (b.starts("VP8L", 12) && b.has(21, 4)) {
    const std::uint32_t bits = b.le32(21);
    return ImageSize{1 + (bits & 0x3fff), 1 + ((bits >> 14) & 0x3fff)};
  }
  if (b.starts("VP8X", 12) && b.has(24, 6)) return ImageSize{1 + b.le24(24), 1 + b.le24(27)};
  return std::nullopt;
}

std::optional<ImageSize> bmp_size(const Bytes& b) {
  if (!b.has(18, 8)) return std::nullopt;
  const auto width = static_cast<std::int32_t>(b.le32(18));
  const auto height = static_cast<std::int32_t>(b.le32(22));  // negative: stored top-down
  return ImageSize{static_cast<std::uint64_t>(std::llabs(width)),
                   static_cast<std::uint64_t>(std::llabs(height))};
}

// The first image file directory's ImageWidth (256) and ImageLength (257) tags.
std::optional<ImageSize> tiff_size(const Bytes& b) {
  const bool little = b.starts("II");
  const auto u16 = [&](size_t at) { return little ? b.le16(at) : b.be16(at); };
  const auto u32 = [&](size_t at) { return little ? b.le32(at) : b.be32(at); };
  if (!b.has(4, 4)) return std::nullopt;
  const size_t directory = u32(4);
  if (!b.has(directory, 2)) return std::nullopt;
  ImageSize size;
  const std::uint32_t count = u16(directory);
  for (std::uint32_t i = 0; i < count; ++i) {
    const size_t entry = directory + 2 + 12 * size_t{i};
    if (!b.has(entry, 12)) return std::nullopt;
    const std::uint32_t tag = u16(entry);
    const std::uint32_t type = u16(entry + 2);
    const std::uint32_t value = type == 3 ? u16(entry + 8) : u32(entry + 8);  // SHORT or LONG
    if (tag == 256) size.width = value;
    if (tag == 257) size.height = value;
  }
  if (size.width == 0 || size.height == 0) return std::nullopt;
  return size;
}

}  // namespace

std::optional<ImageSize> read_image_size(std::string_view data) {
  const Bytes b{data};
  if (b.starts("\x89PNG\r\n\x1a\n")) return png_size(b);
  if (b.starts("\xff\xd8")) return jpeg_size(b);
  if ((b.starts("GIF87a") || b.starts("GIF89a")) && b.has(6, 4)) {
    return ImageSize{b.le16(6), b.le16(8)};
  }
  if (b.starts("RIFF") && b.starts("WEBP", 8)) return webp_size(b);
  if (b.starts("BM")) return bmp_size(b);
  if (b.starts(std::string_view("II*\0", 4)) || b.starts(std::string_view("MM\0*", 4))) {
    return tiff_size(b);
  }
  return std::nullopt;
}

}  // namespace mat::core

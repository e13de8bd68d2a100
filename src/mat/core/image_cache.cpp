#include "mat/core/image_cache.h"

namespace mat::core {

std::shared_ptr<const EncodedImage> ImageCache::get(const std::filesystem::path& path) {
  const std::filesystem::path key = std::filesystem::absolute(path).lexically_normal();
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(key, ec);
  const std::uintmax_t size = ec ? 0 : std::filesystem::file_size(key, ec);
  std::lock_guard lock(mutex_);
  auto it = images_.find(key);
  if (it != images_.end() && !ec && it->second.modified == modified && it->second.size == size) {
    return it->second.image;
  }
  auto image = std::make_shared<const EncodedImage>(encode_image(key, limits_));
  images_[key] = Entry{modified, size, image};
  return image;
}

size_t ImageCache::size() const {
  std::lock_guard lock(mutex_);
  return images_.size();
}

}  // namespace mat::core

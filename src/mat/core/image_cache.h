// Encodes each image file once and hands out shared encodings, so that a run (or a training
// sample) that shows the same image at every step pays for the encoding once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "mat/core/image.h"

namespace mat::core {

class ImageCache {
 public:
  explicit ImageCache(ImageLimits limits) : limits_(limits) {}

  // The encoding of `path`, made on first use and remade when the file changes (a plot the model
  // saves again under the same name). Throws core::Error like encode_image().
  std::shared_ptr<const EncodedImage> get(const std::filesystem::path& path);
  size_t size() const;
  const ImageLimits& limits() const { return limits_; }

 private:
  ImageLimits limits_;
  mutable std::mutex mutex_;
  struct Entry {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    std::shared_ptr<const EncodedImage> image;
  };
  std::map<std::filesystem::path, Entry> images_;
};

}  // namespace mat::core

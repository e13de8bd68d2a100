// A fresh private directory, removed with everything in it when the object goes away.
#pragma once

#include <filesystem>
#include <string_view>

namespace mat::core {

class TempDir {
 public:
  // Creates `<parent>/<prefix>-XXXXXX` (mode 0700). Throws core::Error naming the parent when
  // that fails.
  explicit TempDir(std::string_view prefix = "mat",
                   const std::filesystem::path& parent = std::filesystem::temp_directory_path());
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mat::core

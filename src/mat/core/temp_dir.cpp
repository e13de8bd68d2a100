#include "mat/core/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mat/core/error.h"

namespace mat::core {

TempDir::TempDir(std::string_view prefix, const std::filesystem::path& parent) {
  std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error("cannot create a temporary folder in '" + parent.string() +
                "': " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace mat::core

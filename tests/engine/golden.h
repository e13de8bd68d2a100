// Paths and readers for the golden fixtures made by tools/golden/make_fixtures.py.
#pragma once

#include <filesystem>
#include <string>

#include "mat/core/json.h"

namespace mat::engine::testing {

inline std::filesystem::path golden_dir() {
  return std::filesystem::path(MAT_SOURCE_DIR) / "tests" / "fixtures" / "golden";
}

inline core::Json golden_json(const std::string& relative) {
  return core::read_json_file(golden_dir() / relative);
}

}  // namespace mat::engine::testing

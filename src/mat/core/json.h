// JSON type used across mat (insertion-ordered, so records read in the order they are written)
// and the file helpers every layer needs.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace mat::core {

using Json = nlohmann::ordered_json;

// Parses a JSON file; throws core::Error naming the file and the parse position on failure.
Json read_json_file(const std::filesystem::path& path);

// Writes `value` (indented by `indent`, -1 for one line) atomically: a temporary file in the
// same folder, then a rename, so a crash never leaves a half-written record.
void write_json_file(const std::filesystem::path& path, const Json& value, int indent = 2);

// Reads a whole file as bytes; throws core::Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace mat::core

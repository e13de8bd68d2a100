// JSON type used across mat (insertion-ordered, so records read in the order they are written)
// and the file helpers every layer needs.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace mat::core {

using Json = nlohmann::ordered_json;

// Nesting deeper than this is refused before parsing: hostile input (a tool frame, a model
// server's reply, a command-line argument) must not exhaust the stack of the code that walks it.
inline constexpr size_t kMaxJsonDepth = 256;

// The deepest nesting of arrays and objects in `text` (strings skipped); stops counting at
// `limit + 1`. Linear, no allocation: a guard to run before the parser.
size_t json_nesting_depth(std::string_view text, size_t limit = kMaxJsonDepth);

// Parses untrusted JSON text; nullopt when it is not JSON or nests deeper than `max_depth`.
std::optional<Json> parse_untrusted_json(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Parses a JSON file; throws core::Error naming the file and the parse position on failure.
Json read_json_file(const std::filesystem::path& path);

// Writes `value` (indented by `indent`, -1 for one line) atomically: a new temporary file in the
// same folder (created exclusively, never through a link), synced, then renamed over `path`, so
// a crash never leaves a half-written record and a planted link is replaced, not followed.
void write_json_file(const std::filesystem::path& path, const Json& value, int indent = 2);

// Reads a whole file as bytes; throws core::Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace mat::core

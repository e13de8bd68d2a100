// JSON Lines, as benchmarks and prediction files use them: one object per line, blank lines
// allowed (a trailing newline, a separating gap).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include "mat/core/json.h"

namespace mat::eval {

// Calls `visit` for every non-blank line of `text` with the object on it (nullopt when the line
// is not a JSON object) and its number, counted from 1.
void for_each_jsonl_object(
    std::string_view text,
    const std::function<void(const std::optional<core::Json>& object, size_t line)>& visit);

}  // namespace mat::eval

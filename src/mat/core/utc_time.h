// The current time in UTC as text, for records and reports.
#pragma once

#include <string>

namespace mat::core {

inline constexpr const char* kIsoUtc = "%Y-%m-%dT%H:%M:%SZ";  // 2026-11-29T06:01:00Z

// The current UTC time in a strftime `format` (at most 63 characters of output).
std::string utc_now(const char* format = kIsoUtc);

}  // namespace mat::core

// When and how long to wait before retrying a failed model request: exponential backoff with
// full jitter, the server's Retry-After, and which HTTP statuses are worth another try.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace mat::llm {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
};

// The longest wait before retry number `retry` (0 for the first): initial * 2^retry, at most max.
std::chrono::milliseconds backoff_ceiling(const BackoffPolicy& policy, int retry);

// A wait drawn uniformly from [0, backoff_ceiling(policy, retry)] ("full jitter": clients that
// failed together do not come back together). Safe to call from many threads.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry);

// The wait a Retry-After header asks for: delay-seconds ("120") or an HTTP date (a date in the
// past means no wait). nullopt when `value` is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// 408 (request timeout), 429 (rate limited) and 5xx (server trouble) are transient; other
// statuses will fail the same way again.
bool is_retryable_status(int status);

}  // namespace mat::llm

#include "mat/llm/retry.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <random>

#include "mat/core/http.h"

namespace mat::llm {

namespace {

// Longer waits than this are not worth representing exactly: callers cap far below it.
constexpr std::int64_t kMaxRetryAfterSeconds = 1'000'000'000;

}  // namespace

std::chrono::milliseconds backoff_ceiling(const BackoffPolicy& policy, int retry) {
  std::chrono::milliseconds ceiling = std::max(policy.initial, std::chrono::milliseconds(0));
  for (int i = 0; i < retry && ceiling < policy.max; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max);
}

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::int64_t ceiling = backoff_ceiling(policy, retry).count();
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling)(rng));
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    const auto parsed = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (parsed.ec != std::errc() || seconds > kMaxRetryAfterSeconds) {
      seconds = kMaxRetryAfterSeconds;  // only digits, so the one failure left is overflow
    }
    return std::chrono::seconds(seconds);
  }
  const auto date = core::parse_http_date(value);
  if (!date) return std::nullopt;
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(*date - now),
                  std::chrono::milliseconds(0));
}

bool is_retryable_status(int status) {
  return status == 408 || status == 429 || status >= 500;
}

}  // namespace mat::llm

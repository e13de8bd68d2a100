#include "mat/llm/request_retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "mat/core/interrupt.h"
#include "mat/llm/chat_model.h"
#include "mat/llm/openai_wire.h"

namespace mat::llm {

namespace {

std::string attempts_text(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

}  // namespace

std::string status_text(const core::HttpResponse& response) {
  const std::string message = server_error_message(response.body);
  return "HTTP " + std::to_string(response.status) + (message.empty() ? "" : ": " + message);
}

TransientFailure status_failure(const std::string& server, const core::HttpResponse& response) {
  TransientFailure failure{response.status, server_error_message(response.body),
                           server + " answered " + status_text(response),
                           "check the server's log for the cause", std::nullopt};
  if (response.status == 429) {
    failure.advice =
        "the rate limit or quota is exhausted; wait before trying again, send fewer requests at "
        "once, or check the account's quota";
  }
  if (const auto retry_after = response.header("retry-after")) {
    failure.retry_after = parse_retry_after(*retry_after, std::chrono::system_clock::now());
  }
  return failure;
}

int retry_transient(const RetryPolicy& policy,
                    const std::function<std::optional<TransientFailure>()>& attempt) {
  const int max_attempts = std::max(policy.max_retries, 0) + 1;
  std::optional<TransientFailure> previous;
  for (int n = 1;; ++n) {
    std::optional<TransientFailure> failure = attempt();
    if (!failure) return n;
    if (failure->status >= 500 && previous && previous->status == failure->status &&
        previous->body == failure->body) {
      throw ModelError(failure->what + " (the same answer " + attempts_text(n) +
                           " in a row, so it is not retried further): " + failure->advice,
                       failure->status, false);
    }
    if (n >= max_attempts) {
      throw ModelError(failure->what + " after " + attempts_text(n) + ": " + failure->advice,
                       failure->status, true);
    }
    const std::chrono::milliseconds wait = failure->retry_after
                                               ? std::min(*failure->retry_after, policy.backoff.max)
                                               : backoff_delay(policy.backoff, n - 1);
    if (policy.deadline && std::chrono::steady_clock::now() + wait >= *policy.deadline) {
      throw ModelError(failure->what + " (no time left for another attempt): " + failure->advice,
                       failure->status, true);
    }
    spdlog::warn("{} failed: {}; retrying in {} ms (attempt {} of {})", policy.request_name,
                 failure->what, wait.count(), n + 1, max_attempts);
    previous = std::move(failure);
    core::interruptible_sleep(wait);
  }
}

}  // namespace mat::llm

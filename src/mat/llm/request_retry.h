// The retry loop a request to a model server runs: transient failures (408, 429, 5xx, transport
// trouble) are retried with backoff or after the server's Retry-After; a 5xx that repeats the
// previous attempt's body is the server telling, not failing, and ends the loop. For clients
// whose attempt is a single whole request (embeddings, ...).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "mat/core/http.h"
#include "mat/llm/retry.h"

namespace mat::llm {

// An attempt that failed in a way another attempt may fix.
struct TransientFailure {
  int status = 0;      // 0 when no HTTP response arrived
  std::string body;    // the server's message, to tell a repeated answer from a new failure
  std::string what;    // what went wrong, naming the server
  std::string advice;  // what to do once the retries have run out
  std::optional<std::chrono::milliseconds> retry_after;
};

struct RetryPolicy {
  int max_retries = 5;  // attempts after the first
  BackoffPolicy backoff;
  std::string request_name = "model request";  // for the log line of each retry
  // No wait runs past it: when the next attempt could not start before then, the loop ends with
  // the last failure (a tool's request must not outlive the agent's step).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// "HTTP 503: <the server's message>".
std::string status_text(const core::HttpResponse& response);

// The failure for a retryable status from `server` ("the embeddings server at ..."): advice for a
// rate limit, and the wait the server's Retry-After asks for.
TransientFailure status_failure(const std::string& server, const core::HttpResponse& response);

// Calls `attempt` until it reports no failure; returns how many attempts that took. Waits between
// attempts (Retry-After capped at the backoff's max, otherwise backoff with full jitter), logging
// each retry. Throws ModelError when the retries run out or a 5xx repeats itself, and
// core::Interrupted when an interrupt is requested during a wait.
int retry_transient(const RetryPolicy& policy,
                    const std::function<std::optional<TransientFailure>()>& attempt);

}  // namespace mat::llm

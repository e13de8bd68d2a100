// The limits a `mat synth run` puts on its teacher calls: requests and tokens per minute (token
// buckets), and a cost budget; and the live count of the calls in flight per stage, for the
// progress display. Every stage's model is wrapped by limited_model(), so that a stage added
// later is limited without knowing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mat/core/interrupt.h"
#include "mat/llm/chat_model.h"
#include "mat/synth/store.h"

namespace mat::synth {

struct Limits {
  double requests_per_minute = 0;  // 0: no limit
  double tokens_per_minute = 0;    // 0: no limit
  std::optional<double> budget_usd;
  Price price;  // of the teacher's tokens: what the budget counts
};

// Thrown by a call refused because the budget is spent. An interrupt to the agent and the
// pipeline (the unit in flight is left unrecorded and no further unit starts), told apart by
// CallLimiter::budget_reached().
class BudgetReached : public core::Interrupted {};

// A bucket of `per_minute` units that refills continuously and holds at most ten seconds'
// worth (at least one request's size): over any t seconds at most capacity + rate * t units go
// out, so a provider's per-minute limit holds without a minute-long burst at the start.
class TokenBucket {
 public:
  explicit TokenBucket(double per_minute);  // 0: unlimited
  // Waits until `amount` units are there (a request larger than the capacity waits for a full
  // bucket and leaves it in debt), then takes them. Throws core::Interrupted on an interrupt.
  void take(double amount);
  // Corrects an estimate once the real amount is known (negative: units given back).
  void adjust(double delta);

 private:
  void refill(std::chrono::steady_clock::time_point now);
  double rate_per_second_;
  double capacity_;
  double level_;
  std::chrono::steady_clock::time_point last_;
  std::mutex mutex_;
};

// What a stage's calls did in this process.
struct LiveStage {
  std::int64_t in_flight = 0;
  std::int64_t calls = 0;
};

class CallLimiter {
 public:
  // `spent_usd`: what the run's recorded calls cost already (the budget is the run's, across
  // resumes).
  CallLimiter(const Limits& limits, double spent_usd);

  bool budget_reached() const;
  double spent_usd() const;
  std::map<std::string, LiveStage> live() const;

  // Around one call: before() waits for the buckets and throws BudgetReached when the budget
  // is spent; after() puts the real usage in place of the estimate.
  void before(const std::string& stage, std::int64_t estimated_tokens);
  void after(const std::string& stage, std::int64_t estimated_tokens, const llm::Usage* usage);

  const Limits& limits() const { return limits_; }

 private:
  const Limits limits_;
  TokenBucket requests_;
  TokenBucket tokens_;
  mutable std::mutex mutex_;
  double spent_usd_;
  bool budget_reached_ = false;
  std::map<std::string, LiveStage> live_;
};

// The tokens a request will cost, before the server says: its text at ~4 bytes a token, and the
// reply's max_tokens when set.
std::int64_t estimated_tokens(const std::vector<llm::ChatMessage>& messages,
                              const llm::GenerationParams& params);

// `inner` (the teacher of `stage`) with every call passing `limiter`, which must outlive it.
std::shared_ptr<llm::ChatModel> limited_model(std::shared_ptr<llm::ChatModel> inner,
                                              const std::string& stage, CallLimiter& limiter);

// The prices in a run's config: {"model": {"input_per_mtok": x, "output_per_mtok": y}}. Throws
// core::Error naming the entry that is mistyped; a model without an entry costs nothing.
Price price_of(const core::Json& prices, const std::string& model);

}  // namespace mat::synth

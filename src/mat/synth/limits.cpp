#include "mat/synth/limits.h"

#include <algorithm>
#include <thread>

#include "mat/core/error.h"

namespace mat::synth {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kBurstSeconds = 10;
constexpr std::int64_t kBytesPerToken = 4;

class LimitedModel : public llm::ChatModel {
 public:
  LimitedModel(std::shared_ptr<llm::ChatModel> inner, std::string stage, CallLimiter& limiter)
      : inner_(std::move(inner)), stage_(std::move(stage)), limiter_(limiter) {}

  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token) override {
    const std::int64_t estimate = estimated_tokens(messages, params);
    limiter_.before(stage_, estimate);
    try {
      llm::ChatResult result = inner_->chat(messages, params, on_token);
      limiter_.after(stage_, estimate, &result.usage);
      return result;
    } catch (...) {
      limiter_.after(stage_, estimate, nullptr);
      throw;
    }
  }
  llm::ModelIdentity identity() const override { return inner_->identity(); }

 private:
  std::shared_ptr<llm::ChatModel> inner_;
  std::string stage_;
  CallLimiter& limiter_;
};

}  // namespace

TokenBucket::TokenBucket(double per_minute)
    : rate_per_second_(per_minute / 60),
      capacity_(std::max(1.0, rate_per_second_ * kBurstSeconds)),
      level_(capacity_),
      last_(Clock::now()) {}

void TokenBucket::refill(Clock::time_point now) {
  const double seconds = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(capacity_, level_ + seconds * rate_per_second_);
  last_ = now;
}

void TokenBucket::take(double amount) {
  if (rate_per_second_ <= 0) return;
  const double needed = std::min(amount, capacity_);
  for (;;) {
    double wait_seconds = 0;
    {
      std::lock_guard lock(mutex_);
      refill(Clock::now());
      if (level_ >= needed) {
        level_ -= amount;
        return;
      }
      wait_seconds = (needed - level_) / rate_per_second_;
    }
    // Others may take what refills meanwhile: look again after the wait.
    core::interruptible_sleep(std::chrono::milliseconds(
        std::max<std::int64_t>(1, static_cast<std::int64_t>(wait_seconds * 1000) + 1)));
  }
}

void TokenBucket::adjust(double delta) {
  if (rate_per_second_ <= 0) return;
  std::lock_guard lock(mutex_);
  refill(Clock::now());
  level_ = std::min(capacity_, level_ - delta);
}

CallLimiter::CallLimiter(const Limits& limits, double spent_usd)
    : limits_(limits),
      requests_(limits.requests_per_minute),
      tokens_(limits.tokens_per_minute),
      spent_usd_(spent_usd) {}

bool CallLimiter::budget_reached() const {
  std::lock_guard lock(mutex_);
  return budget_reached_;
}

double CallLimiter::spent_usd() const {
  std::lock_guard lock(mutex_);
  return spent_usd_;
}

std::map<std::string, LiveStage> CallLimiter::live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

void CallLimiter::before(const std::string& stage, std::int64_t estimated) {
  const auto check_budget = [&] {
    std::lock_guard lock(mutex_);
    if (limits_.budget_usd && spent_usd_ >= *limits_.budget_usd) budget_reached_ = true;
    if (budget_reached_) throw BudgetReached();
  };
  check_budget();
  requests_.take(1);
  tokens_.take(static_cast<double>(estimated));
  check_budget();  // spent while this call waited for the buckets
  std::lock_guard lock(mutex_);
  LiveStage& live = live_[stage];
  ++live.in_flight;
  ++live.calls;
}

void CallLimiter::after(const std::string& stage, std::int64_t estimated, const llm::Usage* usage) {
  const std::int64_t used = usage != nullptr ? usage->prompt_tokens + usage->completion_tokens : 0;
  // A failed call is counted as asked (the server may have counted it); a reply as reported.
  if (usage != nullptr) tokens_.adjust(static_cast<double>(used - estimated));
  std::lock_guard lock(mutex_);
  --live_[stage].in_flight;
  if (usage != nullptr)
    spent_usd_ += limits_.price.cost(usage->prompt_tokens, usage->completion_tokens);
}

std::int64_t estimated_tokens(const std::vector<llm::ChatMessage>& messages,
                              const llm::GenerationParams& params) {
  std::int64_t bytes = 0;
  for (const llm::ChatMessage& message : messages) {
    bytes += static_cast<std::int64_t>(message.joined_text().size());
  }
  return bytes / kBytesPerToken + 1 + params.max_tokens.value_or(0);
}

std::shared_ptr<llm::ChatModel> limited_model(std::shared_ptr<llm::ChatModel> inner,
                                              const std::string& stage, CallLimiter& limiter) {
  return std::make_shared<LimitedModel>(std::move(inner), stage, limiter);
}

Price price_of(const core::Json& prices, const std::string& model) {
  if (prices.is_null()) return {};
  if (!prices.is_object()) {
    throw core::Error(
        "the run's config.json: \"prices\" must be an object like {\"MODEL\": "
        "{\"input_per_mtok\": 2.5, \"output_per_mtok\": 10}}");
  }
  const auto entry = prices.find(model);
  if (entry == prices.end()) return {};
  const auto number = [&](const char* name) {
    const auto it = entry->find(name);
    if (it == entry->end() || !it->is_number() || it->get<double>() < 0) {
      throw core::Error("the run's config.json: \"prices\".\"" + model + "\"." + name +
                        " must be a number ≥ 0 (US dollars per million tokens)");
    }
    return it->get<double>();
  };
  if (!entry->is_object()) {
    throw core::Error("the run's config.json: \"prices\".\"" + model + "\" must be an object");
  }
  return {number("input_per_mtok"), number("output_per_mtok")};
}

}  // namespace mat::synth

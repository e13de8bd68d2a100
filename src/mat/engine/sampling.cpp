#include "mat/engine/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace mat::engine {

Sampler::Sampler(const SamplingParams& params)
    : params_(params), rng_(params.seed ? *params.seed : std::random_device{}()) {}

std::int32_t Sampler::next(std::vector<float>& logits, std::span<const std::int32_t> history) {
  const auto vocab = static_cast<std::int32_t>(logits.size());
  if (params_.repetition_penalty != 1.0) {
    const auto penalty = static_cast<float>(params_.repetition_penalty);
    std::unordered_set<std::int32_t> seen(history.begin(), history.end());
    for (const std::int32_t id : seen) {
      if (id < 0 || id >= vocab) continue;
      float& l = logits[static_cast<std::size_t>(id)];
      l = l > 0 ? l / penalty : l * penalty;
    }
  }
  if (params_.temperature <= 0.0) {
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) -
                                     logits.begin());
  }
  const auto temperature = static_cast<float>(params_.temperature);
  for (float& l : logits) l /= temperature;

  // Candidates sorted by logit, best first (stable: ties keep the lower id first).
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::size_t keep = order.size();
  if (params_.top_k > 0)
    keep = std::min<std::size_t>(keep, static_cast<std::size_t>(params_.top_k));
  auto by_logit = [&](std::int32_t a, std::int32_t b) {
    const float la = logits[static_cast<std::size_t>(a)];
    const float lb = logits[static_cast<std::size_t>(b)];
    return la > lb || (la == lb && a < b);
  };
  if (keep < order.size()) {
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                      by_logit);
    order.resize(keep);
  } else {
    std::sort(order.begin(), order.end(), by_logit);
  }
  const float top = logits[static_cast<std::size_t>(order.front())];
  std::vector<double> probs(order.size());
  double sum = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    probs[i] = std::exp(static_cast<double>(logits[static_cast<std::size_t>(order[i])] - top));
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  if (params_.top_p < 1.0) {
    // Keep the smallest prefix whose mass reaches top_p (at least one token).
    double mass = 0;
    std::size_t n = 0;
    while (n < probs.size()) {
      mass += probs[n++];
      if (mass >= params_.top_p) break;
    }
    probs.resize(n);
    order.resize(n);
  }
  std::discrete_distribution<std::size_t> pick(probs.begin(), probs.end());
  return order[pick(rng_)];
}

StopStreamer::StopStreamer(std::vector<std::string> stop) : stop_(std::move(stop)) {
  std::erase_if(stop_, [](const std::string& s) { return s.empty(); });
}

std::string StopStreamer::update(const std::string& text) {
  if (stopped_) return {};
  // Earliest stop string in the text not yet released (a stop may straddle the boundary).
  std::size_t longest = 0;
  for (const std::string& s : stop_) longest = std::max(longest, s.size());
  const std::size_t from = released_.size() > longest ? released_.size() - longest : 0;
  std::size_t cut = std::string::npos;
  for (const std::string& s : stop_) {
    const std::size_t at = text.find(s, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string piece = cut > released_.size()
                            ? text.substr(released_.size(), cut - released_.size())
                            : std::string();
    released_ += piece;
    return piece;
  }
  // Hold back a suffix that is a prefix of a stop string, and a trailing U+FFFD (an incomplete
  // UTF-8 character that the next token may complete).
  std::size_t end = text.size();
  for (const std::string& s : stop_) {
    for (std::size_t n = std::min(s.size() - 1, text.size()); n > 0; --n) {
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        end = std::min(end, text.size() - n);
        break;
      }
    }
  }
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (end >= kReplacement.size() &&
         std::string_view(text).substr(end - kReplacement.size(), kReplacement.size()) ==
             kReplacement) {
    end -= kReplacement.size();
  }
  if (end <= released_.size()) return {};
  std::string piece = text.substr(released_.size(), end - released_.size());
  released_ += piece;
  return piece;
}

std::string StopStreamer::finish(const std::string& text) {
  if (stopped_ || text.size() <= released_.size()) return {};
  std::string piece = text.substr(released_.size());
  released_ += piece;
  return piece;
}

}  // namespace mat::engine

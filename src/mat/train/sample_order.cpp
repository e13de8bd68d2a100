#include "mat/train/sample_order.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace mat::train {

std::vector<std::size_t> epoch_order(const std::vector<std::size_t>& lengths, std::uint64_t seed,
                                     std::int64_t epoch, std::size_t batch) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(epoch + 1)));
  std::shuffle(order.begin(), order.end(), rng);
  batch = std::max<std::size_t>(batch, 1);
  const std::size_t group = kGroupBatches * batch;
  std::vector<std::size_t> grouped;
  grouped.reserve(order.size());
  for (std::size_t start = 0; start < order.size(); start += group) {
    const auto begin = order.begin() + static_cast<std::ptrdiff_t>(start);
    const auto end =
        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + group));
    std::stable_sort(begin, end, [&](auto a, auto b) { return lengths[a] > lengths[b]; });
    std::vector<std::size_t> batch_starts;
    for (std::size_t b = start; b < static_cast<std::size_t>(end - order.begin()); b += batch) {
      batch_starts.push_back(b);
    }
    // A last, partial micro-batch stays last, so that every other one is whole.
    const bool partial = (static_cast<std::size_t>(end - begin) % batch) != 0;
    std::shuffle(batch_starts.begin(), batch_starts.end() - (partial ? 1 : 0), rng);
    for (const std::size_t b : batch_starts) {
      const std::size_t stop = std::min(b + batch, static_cast<std::size_t>(end - order.begin()));
      grouped.insert(grouped.end(), order.begin() + static_cast<std::ptrdiff_t>(b),
                     order.begin() + static_cast<std::ptrdiff_t>(stop));
    }
  }
  return grouped;
}

}  // namespace mat::train

// The order of an epoch's samples: a permutation, micro-batches of similar lengths, and no march
// from the longest samples to the shortest across the steps.
#include "mat/train/sample_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace mat::train {
namespace {

// Lengths that stand for task families: each family's samples have their own length.
std::vector<std::size_t> family_lengths(std::size_t families, std::size_t per_family) {
  std::vector<std::size_t> lengths;
  for (std::size_t f = 0; f < families; ++f) {
    lengths.insert(lengths.end(), per_family, 100 + 50 * f);
  }
  return lengths;
}

TEST(SampleOrder, IsAPermutationThatTheSeedAndEpochDetermine) {
  const std::vector<std::size_t> lengths = family_lengths(7, 35);
  const std::vector<std::size_t> order = epoch_order(lengths, 1, 0, 4);
  std::vector<std::size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> all(lengths.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  EXPECT_EQ(sorted, all);
  EXPECT_EQ(order, epoch_order(lengths, 1, 0, 4));
  EXPECT_NE(order, epoch_order(lengths, 1, 1, 4));
  EXPECT_NE(order, epoch_order(lengths, 2, 0, 4));
}

TEST(SampleOrder, MicroBatchesHoldOneLengthAndFamiliesInterleaveAcrossSteps) {
  const std::size_t batch = 4;
  const std::vector<std::size_t> lengths = family_lengths(7, 36);  // 252 samples, 63 batches
  const std::vector<std::size_t> order = epoch_order(lengths, 1, 0, batch);
  std::vector<std::size_t> batch_lengths;
  for (std::size_t b = 0; b + batch <= order.size(); b += batch) {
    std::size_t shortest = lengths[order[b]], longest = shortest;
    for (std::size_t i = b; i < b + batch; ++i) {
      shortest = std::min(shortest, lengths[order[i]]);
      longest = std::max(longest, lengths[order[i]]);
    }
    // Seven lengths in 50 batches of 4: at most a batch at each of the six borders mixes two.
    EXPECT_LE(longest - shortest, 50u) << "batch " << b / batch;
    batch_lengths.push_back(longest);
  }
  // The steps do not go from the longest family to the shortest: the first ten batches hold
  // several families, and the lengths change direction many times.
  std::vector<std::size_t> first_ten(batch_lengths.begin(), batch_lengths.begin() + 10);
  std::sort(first_ten.begin(), first_ten.end());
  EXPECT_GE(std::unique(first_ten.begin(), first_ten.end()) - first_ten.begin(), 3);
  int changes = 0;
  for (std::size_t i = 1; i < batch_lengths.size(); ++i) {
    changes += batch_lengths[i] != batch_lengths[i - 1];
  }
  EXPECT_GE(changes, 20);
}

}  // namespace
}  // namespace mat::train

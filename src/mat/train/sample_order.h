// The order in which one epoch of training visits its samples. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mat::train {

// A permutation of the samples whose token counts are `lengths`, read as consecutive
// micro-batches of `batch`: a seeded shuffle; then, within each run of kGroupBatches
// micro-batches, the samples sorted by length so that a micro-batch holds samples of similar
// lengths (as transformers' group_by_length, which wastes less padding), and those micro-batches
// shuffled again. Without that last shuffle a run's steps went from its longest samples to its
// shortest, and with a few hundred samples a run is the whole epoch: the steps went through the
// task families one after another (each family's trajectories have their own length), and each
// epoch ended fitted to the shortest family. Deterministic given the seed and epoch.
std::vector<std::size_t> epoch_order(const std::vector<std::size_t>& lengths, std::uint64_t seed,
                                     std::int64_t epoch, std::size_t batch);

inline constexpr std::size_t kGroupBatches = 50;

}  // namespace mat::train

// Seeded, platform-independent draws for the offline teacher: every task, pool image and fault is
// a pure function of the seed and a few names, so that the teacher can stay stateless (it rebuilds
// a task from the number in its file name) and a run is reproducible anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mat::teacher {

// FNV-1a over the parts, each followed by a separator, mixed with `seed`.
std::uint64_t hash_of(std::uint64_t seed, const std::vector<std::string_view>& parts);

// splitmix64: tiny, fast, and the same sequence on every platform and standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t state) : state_(state) {}
  std::uint64_t next();
  int below(int bound);            // in [0, bound)
  int between(int low, int high);  // in [low, high]
  double unit();                   // in [0, 1)
  template <typename T>
  const T& pick(const std::vector<T>& values) {
    return values[static_cast<size_t>(below(static_cast<int>(values.size())))];
  }
  // `count` distinct values of `values`, in drawn order.
  std::vector<std::string> distinct(const std::vector<std::string>& values, int count);

 private:
  std::uint64_t state_;
};

}  // namespace mat::teacher

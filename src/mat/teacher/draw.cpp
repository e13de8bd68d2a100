#include "mat/teacher/draw.h"

#include <algorithm>

namespace mat::teacher {

std::uint64_t hash_of(std::uint64_t seed, const std::vector<std::string_view>& parts) {
  std::uint64_t hash = 0xcbf29ce484222325ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
  for (const std::string_view part : parts) {
    for (const char c : part) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ULL;
    }
    hash ^= 0xff;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int Rng::below(int bound) {
  return bound <= 1 ? 0 : static_cast<int>(next() % static_cast<std::uint64_t>(bound));
}

int Rng::between(int low, int high) {
  return low + below(high - low + 1);
}

double Rng::unit() {
  return static_cast<double>(next() >> 11) / 9007199254740992.0;
}

std::vector<std::string> Rng::distinct(const std::vector<std::string>& values, int count) {
  std::vector<std::string> left = values;
  std::vector<std::string> chosen;
  while (static_cast<int>(chosen.size()) < count && !left.empty()) {
    const auto at = left.begin() + below(static_cast<int>(left.size()));
    chosen.push_back(*at);
    left.erase(at);
  }
  return chosen;
}

}  // namespace mat::teacher

// Cuts a fuzz input into the pieces a socket or an HTTP transfer might deliver, for the readers
// that must not care where the bytes were split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mat::fuzz {

// Passes `input` to `take` piece by piece until `take` returns false. The cuts derive from a hash
// of the input: the fuzzer explores splits as it mutates, a crash reproduces from its file alone,
// and a seed file stays exactly the byte stream it shows. Half the pieces are 1-4 bytes long, to
// cut inside length headers and line breaks.
template <typename Take>
void for_each_piece(std::string_view input, Take&& take) {
  uint64_t state = 14695981039346656037u;  // FNV-1a
  for (const unsigned char c : input) state = (state ^ c) * 1099511628211u;
  size_t pos = 0;
  while (pos < input.size()) {
    state = state * 6364136223846793005u + 1442695040888963407u;  // Knuth's MMIX LCG
    const uint64_t bits = state >> 33;                            // the LCG's best bits
    const size_t length = (bits & 1) != 0 ? 1 + (bits >> 1) % 4 : 1 + (bits >> 1) % 512;
    if (!take(input.substr(pos, length))) return;
    pos += length;
  }
}

}  // namespace mat::fuzz

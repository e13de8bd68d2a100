// What a step printed, capped: the first `cap` bytes are kept, the rest only counted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mat::sandbox {

class OutputCapture {
 public:
  explicit OutputCapture(size_t cap) : cap_(cap) {}

  void append(std::string_view bytes);
  bool truncated() const { return dropped_ > 0; }
  // The kept output as valid UTF-8 (bad bytes become U+FFFD), ending with
  // "\n[... output truncated: N more bytes ...]" when bytes were dropped.
  std::string text() const;

 private:
  size_t cap_;
  std::string kept_;
  size_t dropped_ = 0;
};

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (JSON records need valid UTF-8, and
// C extensions or the model can print anything).
std::string valid_utf8(std::string_view bytes);

}  // namespace mat::sandbox

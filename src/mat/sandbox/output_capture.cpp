#include "mat/sandbox/output_capture.h"

#include <algorithm>
#include <cstdint>

namespace mat::sandbox {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if it is not one (overlong
// forms, surrogates and code points past U+10FFFF are not).
size_t sequence_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint8_t low = 0x80;
  uint8_t high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// How many bytes at the end of `s` are the start of a sequence that was cut off.
size_t incomplete_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(3, s.size()); ++back) {
    const auto lead = static_cast<uint8_t>(s[s.size() - back]);
    if ((lead & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return expected > back ? back : 0;
  }
  return 0;
}

}  // namespace

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const size_t length = sequence_length(bytes);
    if (length == 0) {
      out += kReplacement;
      bytes.remove_prefix(1);
    } else {
      out.append(bytes.substr(0, length));
      bytes.remove_prefix(length);
    }
  }
  return out;
}

void OutputCapture::append(std::string_view bytes) {
  const size_t room = cap_ - std::min(cap_, kept_.size());
  const size_t taken = std::min(room, bytes.size());
  kept_.append(bytes.substr(0, taken));
  dropped_ += bytes.size() - taken;
}

std::string OutputCapture::text() const {
  if (!truncated()) return valid_utf8(kept_);
  // Cut before a character split by the cap rather than showing half of it as U+FFFD.
  const size_t cut = incomplete_tail(kept_);
  std::string text = valid_utf8(std::string_view(kept_).substr(0, kept_.size() - cut));
  text += "\n[... output truncated: " + std::to_string(dropped_ + cut) + " more bytes ...]";
  return text;
}

}  // namespace mat::sandbox

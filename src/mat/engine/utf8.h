// The few UTF-8 operations the tokenizer needs, with the reference's rules for invalid input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mat::engine {

// Appends the UTF-8 encoding of `code_point` (must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t code_point);

// Length of the valid UTF-8 sequence starting at `text[pos]`, or 0 when the bytes there are not
// one (a stray continuation byte, an overlong form, a surrogate, a truncated sequence, > U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// `text` with every invalid stretch replaced by U+FFFD, one per maximal invalid subpart (the rule
// Rust's from_utf8_lossy and Python's errors="replace" follow).
std::string utf8_lossy(std::string_view text);

bool is_valid_utf8(std::string_view text);

}  // namespace mat::engine

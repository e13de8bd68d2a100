// Text as Python's `str` and `re` see it, for scorers that must agree with the official Python
// evaluators character by character: code points (not bytes), Unicode lower-casing, and Python's
// classes of word characters (`\w`) and whitespace (`\s`, str.isspace()).
#pragma once

#include <string>
#include <string_view>

namespace mat::eval {

// The code points of UTF-8 `text`; each byte of an invalid sequence becomes U+FFFD.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);

// Simple (one-to-one) Unicode lower-casing, as str.lower() for all but a handful of characters
// whose lower case is two code points (U+0130 İ).
char32_t to_lower(char32_t c);
std::u32string to_lower(std::u32string_view text);

// Python's `\w` in a str pattern: letters, digits (also ², ½, Ⅻ) and '_'.
bool is_word_char(char32_t c);

// Python's `\s` in a str pattern and str.isspace(): ASCII whitespace, the information separators
// U+001C..U+001F, NEL, no-break and the other Unicode spaces, line and paragraph separators.
bool is_space(char32_t c);

}  // namespace mat::eval

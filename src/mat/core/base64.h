// Standard base64 (RFC 4648, with padding), as used by data URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mat::core {

std::string base64_encode(std::string_view bytes);

// The bytes of base64 `text` (padding optional, line breaks ignored); nullopt when it holds any
// other character or ends in a partial group.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mat::core

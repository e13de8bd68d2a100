// Standard base64 (RFC 4648, with padding), as used by data URLs.
#pragma once

#include <string>
#include <string_view>

namespace mat::core {

std::string base64_encode(std::string_view bytes);

}  // namespace mat::core

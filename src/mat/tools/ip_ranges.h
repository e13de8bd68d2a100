// Which IP addresses are on the public internet: the fence that keeps the tools' web fetches away
// from the machine itself, its private networks and the cloud metadata service.
#pragma once

#include <optional>
#include <string>

namespace mat::tools {

// Why the address is not on the public internet, e.g. "a private address (10.0.0.0/8)"; nullopt
// for a public one. `bytes` holds 4 bytes for AF_INET, 16 for AF_INET6; any other `family` is
// not public. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside them.
std::optional<std::string> non_public_range(int family, const unsigned char* bytes);
// The same for a numeric address as text; text that is not one is reported as such.
std::optional<std::string> non_public_range(const std::string& address);

// The canonical text of a numeric address ("::FFFF:1.2.3.4" -> "::ffff:1.2.3.4"), nullopt when
// `text` is not one.
std::optional<std::string> canonical_address(const std::string& text);

}  // namespace mat::tools

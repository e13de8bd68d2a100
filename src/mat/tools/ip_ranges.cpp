#include "mat/tools/ip_ranges.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>

namespace mat::tools {
namespace {

struct Range {
  const char* prefix;  // numeric, as inet_pton reads it
  int bits;
  const char* what;
};

constexpr std::array<Range, 11> kIpv4Ranges = {{
    {"0.0.0.0", 8, "a 'this network' address (0.0.0.0/8)"},
    {"10.0.0.0", 8, "a private address (10.0.0.0/8)"},
    {"100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"},
    {"127.0.0.0", 8, "a loopback address (127.0.0.0/8)"},
    {"169.254.0.0", 16, "a link-local address (169.254.0.0/16, where cloud metadata lives)"},
    {"172.16.0.0", 12, "a private address (172.16.0.0/12)"},
    {"192.0.0.0", 24, "an IETF protocol address (192.0.0.0/24)"},
    {"192.168.0.0", 16, "a private address (192.168.0.0/16)"},
    {"198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"},
    {"224.0.0.0", 4, "a multicast address (224.0.0.0/4)"},
    {"240.0.0.0", 4, "a reserved or broadcast address (240.0.0.0/4)"},
}};

// Checked after the IPv4-mapped and NAT64 forms; in order, the most specific first.
constexpr std::array<Range, 7> kIpv6Ranges = {{
    {"::", 128, "the unspecified address (::)"},
    {"::1", 128, "the loopback address (::1)"},
    {"::", 8, "a reserved address (::/8)"},
    {"fc00::", 7, "a unique-local address (fc00::/7)"},
    {"fe80::", 10, "a link-local address (fe80::/10)"},
    {"fec0::", 10, "a site-local address (fec0::/10)"},
    {"ff00::", 8, "a multicast address (ff00::/8)"},
}};

bool in_prefix(const unsigned char* address, int family, const Range& range) {
  unsigned char prefix[16] = {};
  inet_pton(family, range.prefix, prefix);
  int bits = range.bits;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<unsigned char>(bits >= 8 ? 0xFF : 0xFF << (8 - bits));
    if ((address[i] & mask) != (prefix[i] & mask)) return false;
  }
  return true;
}

std::optional<std::string> ipv4_range(const unsigned char* address) {
  for (const Range& range : kIpv4Ranges) {
    if (in_prefix(address, AF_INET, range)) return range.what;
  }
  return std::nullopt;
}

std::optional<std::string> ipv6_range(const unsigned char* address) {
  // An IPv4-mapped address reaches the IPv4 host inside it, and a NAT64 gateway does the same
  // for 64:ff9b::/96: judge the IPv4 address.
  if (in_prefix(address, AF_INET6, {"::ffff:0.0.0.0", 96, ""}) ||
      in_prefix(address, AF_INET6, {"64:ff9b::", 96, ""})) {
    return ipv4_range(address + 12);
  }
  for (const Range& range : kIpv6Ranges) {
    if (in_prefix(address, AF_INET6, range)) return range.what;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> non_public_range(int family, const unsigned char* bytes) {
  if (family == AF_INET) return ipv4_range(bytes);
  if (family == AF_INET6) return ipv6_range(bytes);
  return "a non-IP address";
}

std::optional<std::string> non_public_range(const std::string& address) {
  unsigned char bytes[16];
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, address.c_str(), bytes) == 1) return non_public_range(family, bytes);
  }
  return "'" + address + "', which is not a numeric IP address";
}

std::optional<std::string> canonical_address(const std::string& text) {
  unsigned char bytes[16];
  char out[INET6_ADDRSTRLEN];
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, text.c_str(), bytes) == 1)
      return inet_ntop(family, bytes, out, sizeof out);
  }
  return std::nullopt;
}

}  // namespace mat::tools

// Fetches web pages for the tools (visit_page) from the host; the sandbox itself has no network.
// A page address comes from a model that may have read it on a hostile page, so the fetch is
// fenced: http and https only, bounded in time and size, redirects followed hop by hop and each
// hop re-checked, and no connection to loopback, private, link-local (cloud metadata), CGNAT,
// multicast or other non-public addresses unless allowed. The address check runs on the address
// actually connected to, so a host name that resolves to a private address (DNS rebinding) is
// refused too. Proxies from the environment are not used: through one, the check would see the
// proxy's address instead of the page's.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace mat::tools {

struct FetchOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};  // the whole fetch, redirects included
  size_t max_bytes = size_t{5} << 20;         // of the (decompressed) body; larger is refused
  int max_redirects = 5;
  // Non-public addresses that may be connected to anyway (a local test server, an intranet
  // wiki): all of them, or these numeric IPv4 or IPv6 addresses.
  bool allow_all_private = false;
  std::vector<std::string> allowed_private;
};

// The defaults, with the non-public addresses that MAT_VISIT_ALLOW_PRIVATE allows: "1" for all,
// or a comma-separated list of addresses.
FetchOptions fetch_options_from_environment();

struct FetchedPage {
  std::string url;           // where the body came from, after redirects
  std::string content_type;  // media type in lower case without parameters; "" when not sent
  std::string body;
};

// GETs `url` and returns a 2xx response's body. Throws ToolError saying what failed on which
// address and what to do: a scheme other than http(s), a refused address, a failed connection or
// timeout, an HTTP error status, too many redirects, a body over max_bytes. Throws
// core::Interrupted when mat is asked to stop meanwhile. Safe to call from many threads.
FetchedPage fetch_page(const std::string& url, const FetchOptions& options = {});

}  // namespace mat::tools

#include "mat/tools/page_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>

#include "mat/core/interrupt.h"
#include "mat/tools/ip_ranges.h"
#include "mat/tools/tool.h"

namespace mat::tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUserAgent = "Mozilla/5.0 (compatible; mat-agent/0.1; visit_page)";
constexpr const char* kAllowVariable = "MAT_VISIT_ALLOW_PRIVATE";

struct Policy {
  bool allow_all_private = false;
  std::set<std::string> allowed_private;  // canonical text
};

struct Transfer {
  const Policy* policy = nullptr;
  size_t max_bytes = 0;
  std::string body;
  bool too_large = false;
  std::string refused;  // "10.0.0.1, a private address (10.0.0.0/8)" when a connection was refused
};

size_t on_body_piece(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer.body.size() + bytes > transfer.max_bytes) {
    transfer.too_large = true;
    return 0;  // anything but `bytes` makes curl abort the transfer
  }
  transfer.body.append(data, bytes);
  return bytes;
}

// Called for every connection curl opens, with the address it is about to connect to: the one
// place where the address is known for certain (after DNS, for each redirect hop and each
// address family tried).
curl_socket_t open_checked_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto& transfer = *static_cast<Transfer*>(user);
  sockaddr_storage storage = {};
  std::memcpy(&storage, &address->addr, std::min<size_t>(address->addrlen, sizeof storage));
  const unsigned char* bytes = nullptr;
  if (address->family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr);
  } else if (address->family == AF_INET6) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr);
  } else {
    transfer.refused = "a non-IP address";
    return CURL_SOCKET_BAD;
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address->family, bytes, text, sizeof text);
  const std::optional<std::string> range = non_public_range(address->family, bytes);
  const Policy& policy = *transfer.policy;
  if (range && !policy.allow_all_private && !policy.allowed_private.contains(text)) {
    transfer.refused = std::string(text) + ", " + *range;
    return CURL_SOCKET_BAD;
  }
  // Close-on-exec: the sandbox forks Python workers from other threads of this process, and a
  // socket inherited by one would outlive the fetch.
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// Called about once a second and on every transfer: stops it when mat is asked to stop.
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return core::interrupt_requested() ? 1 : 0;
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFree {
  void operator()(char* text) const { curl_free(text); }
};

// `url` normalised by curl ("Example.COM" -> "https://example.com/"), checked to be http or
// https. `where` says where it came from in error messages.
std::string checked_url(const std::string& url, const std::string& where) {
  const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed) throw ToolError("cannot parse web addresses: out of memory");
  // A missing scheme means https (models often write "example.com/page"); schemes curl does not
  // support are parsed too, so that the refusal below can name them.
  const CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(),
                                      CURLU_DEFAULT_SCHEME | CURLU_NON_SUPPORT_SCHEME);
  if (code != CURLUE_OK) {
    throw ToolError(where + "'" + url + "' is not a valid web address (" + curl_url_strerror(code) +
                    "); pass a full address such as " + "https://example.com/page");
  }
  char* scheme_text = nullptr;
  char* full_text = nullptr;
  curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme_text, 0);
  curl_url_get(parsed.get(), CURLUPART_URL, &full_text, 0);
  const std::unique_ptr<char, CurlFree> scheme(scheme_text);
  const std::unique_ptr<char, CurlFree> full(full_text);
  if (!scheme || !full) throw ToolError(where + "'" + url + "' is not a valid web address");
  const std::string_view name = scheme.get();
  if (name != "http" && name != "https") {
    throw ToolError(where + "'" + url + "' uses " + std::string(name) +
                    ":, but only http and https web pages can be visited" +
                    (name == "file" ? "; read files of the working directory with "
                                      "inspect_file_as_text instead"
                                    : ""));
  }
  return full.get();
}

Policy make_policy(const FetchOptions& options) {
  Policy policy{.allow_all_private = options.allow_all_private, .allowed_private = {}};
  for (const std::string& entry : options.allowed_private) {
    std::optional<std::string> canonical = canonical_address(entry);
    if (!canonical) {
      throw ToolError(std::string(kAllowVariable) + " names '" + entry +
                      "', which is not a numeric IP address; set it to 1 (all addresses) or to "
                      "a comma-separated list of addresses");
    }
    policy.allowed_private.insert(std::move(*canonical));
  }
  return policy;
}

std::string seconds(std::chrono::milliseconds duration) {
  return std::to_string((duration.count() + 999) / 1000) + " s";
}

std::string mebibytes(size_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

// Runs one GET of `url` on `curl` into `transfer`; throws ToolError when no response arrived.
void perform(CURL* curl, const std::string& url, Transfer& transfer, const FetchOptions& options,
             Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) {
    throw ToolError("fetching '" + url + "' timed out: the whole fetch may take " +
                    seconds(options.timeout) + "; try again later or another source");
  }
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // see page_fetch.h: the address check needs it
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // any; max_bytes counts decoded bytes
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options.connect_timeout, left).count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body_piece);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) return;
  if (code == CURLE_ABORTED_BY_CALLBACK && core::interrupt_requested()) throw core::Interrupted();
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    throw ToolError("'" + url + "' is larger than " + mebibytes(options.max_bytes) +
                    ", the most visit_page reads; the transfer was stopped. Look for a shorter "
                    "version of the page (a summary, an abstract, a text-only edition)");
  }
  if (!transfer.refused.empty()) {
    throw ToolError("refused to connect to '" + url + "': its server is at " + transfer.refused +
                    ", which is not on the public internet; only public web pages can be "
                    "visited (an operator can allow such addresses with " +
                    kAllowVariable + "=1)");
  }
  const std::string cause = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    throw ToolError("fetching '" + url + "' timed out (" + cause +
                    "); the server is slow or unreachable: try again later or another source");
  }
  if (code == CURLE_COULDNT_RESOLVE_HOST) {
    throw ToolError("the host of '" + url +
                    "' was not found (no DNS record); check the address for typos");
  }
  throw ToolError("fetching '" + url + "' failed: " + cause +
                  "; check the address, or try again later or another source");
}

std::string status_advice(long status) {
  if (status == 401 || status == 403) {
    return "the page needs a login or refuses automated readers; try another source";
  }
  if (status == 404 || status == 410) {
    return "the page does not exist; check the address, or search for the page";
  }
  if (status == 429) return "the server is rate-limiting; wait a little or try another source";
  if (status >= 500) return "the server failed; try again later or another source";
  return "try another address or source";
}

// "Text/HTML; charset=UTF-8" -> "text/html" (media types hold no spaces).
std::string media_type(const char* header) {
  std::string type;
  for (const char c : std::string_view(header != nullptr ? header : "")) {
    if (c == ';') break;
    if (c != ' ' && c != '\t')
      type += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return type;
}

}  // namespace

FetchedPage fetch_page(const std::string& url, const FetchOptions& options) {
  const Policy policy = make_policy(options);
  std::string current = checked_url(url, "");
  // curl_easy_init initialises libcurl on first use, thread-safely since curl 7.84.
  const std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) throw ToolError("cannot fetch '" + url + "': libcurl has no memory for a request");
  const Clock::time_point deadline = Clock::now() + options.timeout;
  for (int redirects = 0;; ++redirects) {
    Transfer transfer{.policy = &policy,
                      .max_bytes = options.max_bytes,
                      .body = {},
                      .too_large = false,
                      .refused = {}};
    perform(curl.get(), current, transfer, options, deadline);
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300 && status < 400) {
      char* location = nullptr;
      curl_easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &location);
      if (location == nullptr) {
        throw ToolError("'" + current + "' answered with a redirect (HTTP " +
                        std::to_string(status) + ") but no address to go to; try another source");
      }
      if (redirects == options.max_redirects) {
        throw ToolError("'" + url + "' redirects more than " +
                        std::to_string(options.max_redirects) + " times (the last hop went to '" +
                        location + "'); try the final address directly or another source");
      }
      current = checked_url(location, "'" + current + "' redirects to ");
      continue;
    }
    if (status < 200 || status >= 300) {
      throw ToolError("'" + current + "' answered with HTTP status " + std::to_string(status) +
                      ": " + status_advice(status));
    }
    char* type = nullptr;
    curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_TYPE, &type);
    return {.url = current, .content_type = media_type(type), .body = std::move(transfer.body)};
  }
}

FetchOptions fetch_options_from_environment() {
  FetchOptions options;
  const char* value = std::getenv(kAllowVariable);
  const std::string setting = value != nullptr ? value : "";
  if (setting == "1") {
    options.allow_all_private = true;
    return options;
  }
  std::string entry;
  for (const char c : setting + ",") {
    if (c != ',') {
      if (c != ' ') entry += c;
      continue;
    }
    if (!entry.empty()) options.allowed_private.push_back(std::move(entry));
    entry.clear();
  }
  return options;
}

}  // namespace mat::tools

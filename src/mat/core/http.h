// A small blocking HTTP client (libcurl underneath): one request in, one response out, with an
// optional callback that receives a successful response's body as it arrives (server-sent events).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mat/core/error.h"

namespace mat::core {

struct HttpRequest {
  std::string method = "GET";  // "GET", "POST", ...
  std::string url;             // http:// or https:// only
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when non-empty (and always for POST)
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{600'000};  // whole transfer; 0 means no limit
  // No byte received for this long (rounded up to whole seconds) is a timeout, however long the
  // whole transfer may take: a stalled stream is found quickly, a healthy long one is never
  // cut. 0 means no limit.
  std::chrono::milliseconds idle_timeout{0};
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated headers joined by ", "
  std::string body;                            // empty when a body callback consumed a 2xx body

  // The value of header `name` (any case), or nullopt when the server did not send it.
  std::optional<std::string> header(std::string_view name) const;
};

// Receives a 2xx response's body piece by piece. Returning false stops the transfer early (the
// response then holds what arrived so far); an exception thrown here ends the transfer and
// propagates out of send_http. Non-2xx bodies are small error documents and are always
// collected whole into HttpResponse::body instead.
using HttpBodyCallback = std::function<bool(std::string_view piece)>;

// Thrown when no complete HTTP response arrived: connection refused, DNS failure, TLS failure,
// timeout, connection dropped mid-body. `what()` names the method, URL and curl's message.
class HttpTransportError : public Error {
 public:
  HttpTransportError(const std::string& message, std::string cause, bool timed_out)
      : Error(message), cause_(std::move(cause)), timed_out_(timed_out) {}
  // The most specific cause, fit to quote in a user message: the operating system's reason
  // when it gave one ("Connection refused"), otherwise curl's message.
  const std::string& cause() const { return cause_; }
  bool timed_out() const { return timed_out_; }

 private:
  std::string cause_;
  bool timed_out_;
};

// Sends `request` and waits for the response. Any HTTP status is a response, not an error;
// throws HttpTransportError when the exchange itself fails, and core::Interrupted when an
// interrupt (interrupt.h) is requested meanwhile. Safe to call from many threads.
HttpResponse send_http(const HttpRequest& request, const HttpBodyCallback& on_body = {});

// `text` percent-encoded for a URL's query: everything but letters, digits and "-._~" as %XX.
std::string url_encode(std::string_view text);

// Parses an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT" and the two obsolete forms RFC 9110
// still accepts); nullopt when `text` is not one.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

}  // namespace mat::core

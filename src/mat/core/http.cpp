#include "mat/core/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>

#include "mat/core/interrupt.h"

namespace mat::core {

namespace {

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw Error("libcurl failed to initialise (curl_global_init); no HTTP request can be sent");
    }
  });
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

EasyHandle new_handle() {
  EasyHandle handle(curl_easy_init());
  if (!handle) throw Error("libcurl could not create a request handle (out of memory?)");
  return handle;
}

// Each thread keeps one curl handle so that consecutive requests to the same server reuse its
// connection (TLS handshakes are the slow part with remote APIs). A request sent while the
// thread's handle is busy (from inside a body callback) gets a handle of its own.
class HandleLease {
 public:
  HandleLease() {
    thread_local EasyHandle cached;
    thread_local bool busy = false;
    if (busy) {
      own_ = new_handle();
      handle_ = own_.get();
      return;
    }
    if (!cached) cached = new_handle();
    curl_easy_reset(cached.get());
    handle_ = cached.get();
    busy_ = &busy;
    busy = true;
  }
  ~HandleLease() {
    if (busy_ != nullptr) *busy_ = false;
  }
  HandleLease(const HandleLease&) = delete;
  HandleLease& operator=(const HandleLease&) = delete;
  CURL* get() const { return handle_; }

 private:
  EasyHandle own_;
  CURL* handle_ = nullptr;
  bool* busy_ = nullptr;
};

struct Transfer {
  HttpResponse response;
  const HttpBodyCallback* on_body = nullptr;
  bool stopped_by_callback = false;
  std::exception_ptr callback_error;

  bool streams_body() const {
    return on_body != nullptr && *on_body && response.status >= 200 && response.status < 300;
  }
};

size_t on_header_line(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::string_view line = trim({data, size * count});
  if (line.starts_with("HTTP/")) {
    // A new status line starts a new header block (after "100 Continue" or a proxy's reply).
    transfer.response.headers.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view code = line.substr(space + 1, 3);
      std::from_chars(code.data(), code.data() + code.size(), transfer.response.status);
    }
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = to_lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    auto [it, inserted] = transfer.response.headers.try_emplace(std::move(name), value);
    if (!inserted) it->second.append(", ").append(value);
  }
  return size * count;
}

size_t on_body_piece(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::string_view piece(data, size * count);
  if (!transfer.streams_body()) {
    transfer.response.body.append(piece);
    return piece.size();
  }
  try {
    if ((*transfer.on_body)(piece)) return piece.size();
    transfer.stopped_by_callback = true;
  } catch (...) {
    // Exceptions must not unwind through libcurl's C frames: keep it and rethrow after perform.
    transfer.callback_error = std::current_exception();
  }
  return 0;  // anything but piece.size() makes curl abort the transfer
}

// Called by curl about once a second and on every transfer: stops it when mat is asked to stop.
int on_progress(void* /*user*/, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return interrupt_requested() ? 1 : 0;
}

Slist make_header_list(const HttpRequest& request) {
  Slist list;
  const auto append = [&list](const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) throw Error("libcurl could not build request headers (out of memory?)");
    static_cast<void>(list.release());
    list.reset(grown);
  };
  for (const auto& [name, value] : request.headers) append(name + ": " + value);
  // Without this curl sends "Expect: 100-continue" for large bodies (images) and waits up to a
  // second for servers that never answer it.
  append("Expect:");
  return list;
}

void set_method_and_body(CURL* curl, const HttpRequest& request) {
  if (request.method == "GET" && request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    return;
  }
  if (request.method == "POST" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  if (request.method != "POST")
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
}

[[noreturn]] void throw_transport_error(CURL* curl, const HttpRequest& request, CURLcode code,
                                        const char* error_buffer) {
  const std::string curl_message =
      error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
  const bool timed_out = code == CURLE_OPERATION_TIMEDOUT;
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  std::string cause = curl_message;
  if (!timed_out && os_errno != 0) {
    cause = std::generic_category().message(static_cast<int>(os_errno));
  }
  throw HttpTransportError(request.method + " " + request.url + " failed: " + curl_message,
                           std::move(cause), timed_out);
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const auto it = headers.find(to_lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

HttpResponse send_http(const HttpRequest& request, const HttpBodyCallback& on_body) {
  init_curl_once();
  HandleLease lease;
  CURL* curl = lease.get();

  Transfer transfer;
  transfer.on_body = &on_body;
  const Slist headers = make_header_list(request);
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // signals are process-wide; we are threaded
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.idle_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // bytes per second
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>((request.idle_timeout.count() + 999) / 1000));
  }
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body_piece);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  set_method_and_body(curl, request);

  const CURLcode code = curl_easy_perform(curl);
  if (transfer.callback_error) std::rethrow_exception(transfer.callback_error);
  if (code == CURLE_ABORTED_BY_CALLBACK && interrupt_requested()) throw Interrupted();
  if (code != CURLE_OK && !transfer.stopped_by_callback) {
    throw_transport_error(curl, request, code, error_buffer);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 0) transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

std::string url_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += "0123456789ABCDEF"[byte >> 4];
      out += "0123456789ABCDEF"[byte & 15];
    }
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  const std::string copy(trim(text));
  if (copy.empty()) return std::nullopt;
  const time_t seconds = curl_getdate(copy.c_str(), nullptr);
  if (seconds < 0) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace mat::core

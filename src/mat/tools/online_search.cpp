// The online search backends (search_backend.h): one HTTP request each, answered with JSON that
// each service shapes its own way, read here into SearchHits. Reading a hit fetches its page
// through page_fetch.h, fenced like visit_page.
#include <algorithm>

#include "mat/core/http.h"
#include "mat/core/json.h"
#include "mat/llm/openai_wire.h"
#include "mat/tools/page_fetch.h"
#include "mat/tools/page_text.h"
#include "mat/tools/search_backend.h"
#include "mat/tools/tool.h"

namespace mat::tools {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kSearchTimeout{20'000};

// Snippets come with the services' highlighting markup (<strong>, <b>) and entities; the model
// gets plain text with the matched words in **bold**, as from the local corpus.
std::string plain_snippet(std::string_view html) {
  std::string out;
  for (size_t i = 0; i < html.size(); ++i) {
    if (html[i] == '<') {
      const size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      const std::string_view tag = html.substr(i + 1, end - i - 1);
      if (tag == "strong" || tag == "/strong" || tag == "b" || tag == "/b") out += "**";
      i = end;
    } else if (html.substr(i, 5) == "&amp;") {
      out += '&';
      i += 4;
    } else if (html.substr(i, 6) == "&quot;") {
      out += '"';
      i += 5;
    } else if (html.substr(i, 5) == "&#39;") {
      out += '\'';
      i += 4;
    } else {
      out += html[i];
    }
  }
  return out;
}

std::string text_field(const core::Json& item, const char* key) {
  return item.contains(key) && item[key].is_string() ? item[key].get<std::string>() : "";
}

class OnlineSearch : public SearchBackend {
 public:
  std::string read(const SearchHit& hit, Deadline deadline) const override {
    FetchOptions options = fetch_options_from_environment();
    options.timeout = std::clamp(std::chrono::ceil<milliseconds>(deadline - Clock::now()),
                                 milliseconds(1), options.timeout);
    return page_markdown(fetch_page(hit.url, options));
  }

 protected:
  using Clock = std::chrono::steady_clock;

  // Sends `request` and returns its JSON reply. ToolError naming the service: no answer, a key
  // refused (saying which variable holds it), any other error status with the service's message.
  core::Json call(core::HttpRequest request, Deadline deadline,
                  const std::string& key_variable) const {
    request.timeout = std::clamp(std::chrono::ceil<milliseconds>(deadline - Clock::now()),
                                 milliseconds(1), kSearchTimeout);
    core::HttpResponse response;
    try {
      response = core::send_http(request);
    } catch (const core::HttpTransportError& e) {
      throw ToolError("web search: " + name() + " did not answer (" + e.cause() +
                      "); try again later");
    }
    const std::string message = llm::server_error_message(response.body);
    if ((response.status == 401 || response.status == 403) && !key_variable.empty()) {
      throw ToolError("web search: " + name() + " refused the key in " + key_variable + " (HTTP " +
                      std::to_string(response.status) + ": " + message + ")");
    }
    if (response.status != 200) {
      throw ToolError("web search: " + name() + " answered HTTP " +
                      std::to_string(response.status) + (message.empty() ? "" : ": " + message));
    }
    std::optional<core::Json> reply = core::parse_untrusted_json(response.body);
    if (!reply || !reply->is_object()) {
      throw ToolError("web search: " + name() + " answered with something that is not JSON");
    }
    return std::move(*reply);
  }

  // The hits in `items` (an array of objects, or absent: no results), their fields named.
  static std::vector<SearchHit> hits_of(const core::Json& items, const char* title, const char* url,
                                        const char* snippet, int max_results) {
    std::vector<SearchHit> hits;
    if (!items.is_array()) return hits;
    for (const core::Json& item : items) {
      if (static_cast<int>(hits.size()) == max_results) break;
      if (!item.is_object() || text_field(item, url).empty()) continue;
      hits.push_back({.title = plain_snippet(text_field(item, title)),
                      .url = text_field(item, url),
                      .snippet = plain_snippet(text_field(item, snippet)),
                      .score = 0});
    }
    return hits;
  }
};

class SearxngSearch : public OnlineSearch {
 public:
  explicit SearxngSearch(std::string base_url) : base_url_(std::move(base_url)) {}
  std::string name() const override { return "the SearXNG instance at " + base_url_; }

  std::vector<SearchHit> search(const std::string& query, int max_results,
                                Deadline deadline) const override {
    core::HttpRequest request;
    request.url = base_url_ + "/search?format=json&q=" + core::url_encode(query);
    request.headers = {{"Accept", "application/json"}};
    const core::Json reply = call(std::move(request), deadline, "");
    return hits_of(reply.value("results", core::Json()), "title", "url", "content", max_results);
  }

 private:
  std::string base_url_;
};

class GoogleSearch : public OnlineSearch {
 public:
  GoogleSearch(std::string endpoint, std::string key, std::string engine_id)
      : endpoint_(std::move(endpoint)), key_(std::move(key)), engine_id_(std::move(engine_id)) {}
  std::string name() const override { return "Google Programmable Search"; }

  std::vector<SearchHit> search(const std::string& query, int max_results,
                                Deadline deadline) const override {
    core::HttpRequest request;
    request.url = endpoint_ + "?key=" + core::url_encode(key_) +
                  "&cx=" + core::url_encode(engine_id_) + "&q=" + core::url_encode(query) +
                  "&num=" + std::to_string(std::min(max_results, 10));  // the API's maximum
    const core::Json reply = call(std::move(request), deadline, "GOOGLE_API_KEY");
    return hits_of(reply.value("items", core::Json()), "title", "link", "snippet", max_results);
  }

 private:
  std::string endpoint_, key_, engine_id_;
};

class SerperSearch : public OnlineSearch {
 public:
  SerperSearch(std::string endpoint, std::string key)
      : endpoint_(std::move(endpoint)), key_(std::move(key)) {}
  std::string name() const override { return "Serper"; }

  std::vector<SearchHit> search(const std::string& query, int max_results,
                                Deadline deadline) const override {
    core::HttpRequest request;
    request.method = "POST";
    request.url = endpoint_;
    request.headers = {{"X-API-KEY", key_}, {"Content-Type", "application/json"}};
    request.body = core::Json{{"q", query}, {"num", max_results}}.dump();
    const core::Json reply = call(std::move(request), deadline, "SERPER_API_KEY");
    return hits_of(reply.value("organic", core::Json()), "title", "link", "snippet", max_results);
  }

 private:
  std::string endpoint_, key_;
};

class BraveSearch : public OnlineSearch {
 public:
  BraveSearch(std::string endpoint, std::string key)
      : endpoint_(std::move(endpoint)), key_(std::move(key)) {}
  std::string name() const override { return "Brave Search"; }

  std::vector<SearchHit> search(const std::string& query, int max_results,
                                Deadline deadline) const override {
    core::HttpRequest request;
    request.url = endpoint_ + "?q=" + core::url_encode(query) +
                  "&count=" + std::to_string(std::min(max_results, 20));  // the API's maximum
    request.headers = {{"X-Subscription-Token", key_}, {"Accept", "application/json"}};
    const core::Json reply = call(std::move(request), deadline, "BRAVE_API_KEY");
    const core::Json web = reply.value("web", core::Json::object());
    return hits_of(web.is_object() ? web.value("results", core::Json()) : core::Json(), "title",
                   "url", "description", max_results);
  }

 private:
  std::string endpoint_, key_;
};

std::string without_trailing_slash(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  return url;
}

}  // namespace

std::shared_ptr<const SearchBackend> make_searxng_backend(std::string endpoint) {
  return std::make_shared<SearxngSearch>(without_trailing_slash(std::move(endpoint)));
}

std::shared_ptr<const SearchBackend> make_google_backend(std::string endpoint, std::string key,
                                                         std::string engine_id) {
  return std::make_shared<GoogleSearch>(std::move(endpoint), std::move(key), std::move(engine_id));
}

std::shared_ptr<const SearchBackend> make_serper_backend(std::string endpoint, std::string key) {
  return std::make_shared<SerperSearch>(std::move(endpoint), std::move(key));
}

std::shared_ptr<const SearchBackend> make_brave_backend(std::string endpoint, std::string key) {
  return std::make_shared<BraveSearch>(std::move(endpoint), std::move(key));
}

}  // namespace mat::tools

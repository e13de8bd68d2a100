// Where web_search and ask_search_agent look things up, chosen by the environment:
//
//   MAT_SEARCH_BACKEND  local    the offline corpus at MAT_SEARCH_DB (`mat index DIR --out DB`);
//                                the default when MAT_SEARCH_DB is set
//                       searxng  a SearXNG instance at MAT_SEARXNG_URL (its JSON format enabled)
//                       google   Google Programmable Search: GOOGLE_API_KEY, GOOGLE_CSE_ID
//                       serper   serper.dev: SERPER_API_KEY
//                       brave    Brave Search API: BRAVE_API_KEY
//   MAT_SEARCH_URL      the endpoint of google, serper or brave, for a proxy or a test server
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mat/tools/search_corpus.h"

namespace mat::tools {

class SearchBackend {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~SearchBackend() = default;

  // What the backend is, for messages: "the local corpus /data/corpus.db", "Brave Search".
  virtual std::string name() const = 0;
  // The best `max_results` hits for `query`, best first. Throws ToolError saying what failed
  // (the service's own message, a missing key) by `deadline` at the latest.
  virtual std::vector<SearchHit> search(const std::string& query, int max_results,
                                        Deadline deadline) const = 0;
  // The readable text behind a hit: the corpus's copy, or the page fetched (page_fetch.h) and
  // converted. Throws ToolError when it cannot be had.
  virtual std::string read(const SearchHit& hit, Deadline deadline) const = 0;
};

struct SearchBackendChoice {
  std::shared_ptr<const SearchBackend> backend;  // null when none is configured
  std::optional<std::string> problem;            // why, saying what to set
};

// The backend the environment configures (see the top of this file).
SearchBackendChoice search_backend_from_env();

// The online backends, for tests and callers that configure them directly. `endpoint` is the
// service's search URL (SearXNG: the instance's base URL).
std::shared_ptr<const SearchBackend> make_searxng_backend(std::string endpoint);
std::shared_ptr<const SearchBackend> make_google_backend(std::string endpoint, std::string key,
                                                         std::string engine_id);
std::shared_ptr<const SearchBackend> make_serper_backend(std::string endpoint, std::string key);
std::shared_ptr<const SearchBackend> make_brave_backend(std::string endpoint, std::string key);

}  // namespace mat::tools

#include "mat/tools/search_backend.h"

#include <cstdlib>

#include "mat/tools/tool.h"

namespace mat::tools {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

class LocalSearch : public SearchBackend {
 public:
  explicit LocalSearch(SearchCorpus corpus) : corpus_(std::move(corpus)) {}
  std::string name() const override { return "the local corpus " + corpus_.path().string(); }

  std::vector<SearchHit> search(const std::string& query, int max_results,
                                Deadline) const override {
    return corpus_.search(query, max_results);
  }
  std::string read(const SearchHit& hit, Deadline) const override {
    std::optional<std::string> text = corpus_.document_text(hit.url);
    if (!text) throw ToolError("'" + hit.url + "' is not a document of " + name());
    return *text;
  }

 private:
  SearchCorpus corpus_;
};

// The value of `variable`, or a problem naming it and what it is for.
std::optional<std::string> required(const char* variable, const std::string& backend,
                                    std::string& value) {
  value = env(variable);
  if (!value.empty()) return std::nullopt;
  return "MAT_SEARCH_BACKEND=" + backend + " needs " + variable;
}

SearchBackendChoice local_backend() {
  const std::string db = env("MAT_SEARCH_DB");
  if (db.empty()) {
    return {nullptr,
            "no search backend is configured: set MAT_SEARCH_DB to a corpus built with `mat "
            "index DIR --out corpus.db`, or MAT_SEARCH_BACKEND to searxng, google, serper or "
            "brave with its key"};
  }
  try {
    return {std::make_shared<LocalSearch>(SearchCorpus::open(db)), std::nullopt};
  } catch (const core::Error& e) {
    return {nullptr, std::string("MAT_SEARCH_DB: ") + e.what()};
  }
}

}  // namespace

SearchBackendChoice search_backend_from_env() {
  const std::string backend = env("MAT_SEARCH_BACKEND");
  const std::string endpoint = env("MAT_SEARCH_URL");
  const auto or_default = [&](const char* url) { return endpoint.empty() ? url : endpoint; };
  std::string key, engine_id;
  if (backend.empty() || backend == "local") return local_backend();
  if (backend == "searxng") {
    if (auto problem = required("MAT_SEARXNG_URL", backend, key)) return {nullptr, problem};
    return {make_searxng_backend(key), std::nullopt};
  }
  if (backend == "google") {
    if (auto problem = required("GOOGLE_API_KEY", backend, key)) return {nullptr, problem};
    if (auto problem = required("GOOGLE_CSE_ID", backend, engine_id)) return {nullptr, problem};
    return {make_google_backend(or_default("https://www.googleapis.com/customsearch/v1"), key,
                                engine_id),
            std::nullopt};
  }
  if (backend == "serper") {
    if (auto problem = required("SERPER_API_KEY", backend, key)) return {nullptr, problem};
    return {make_serper_backend(or_default("https://google.serper.dev/search"), key), std::nullopt};
  }
  if (backend == "brave") {
    if (auto problem = required("BRAVE_API_KEY", backend, key)) return {nullptr, problem};
    return {make_brave_backend(or_default("https://api.search.brave.com/res/v1/web/search"), key),
            std::nullopt};
  }
  return {nullptr, "MAT_SEARCH_BACKEND is '" + backend +
                       "'; it must be local, searxng, google, serper or brave"};
}

}  // namespace mat::tools

// web_search: ranked results for a query. The backend is the offline corpus named by
// MAT_SEARCH_DB (built with `mat index DIR --out corpus.db`); online backends come later behind
// the same tool and MAT_SEARCH_BACKEND.
#include <cstdlib>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/search_corpus.h"

namespace mat::tools {
namespace {

constexpr int kDefaultResults = 5;
constexpr int kMaxResults = 20;

class WebSearchTool : public Tool {
 public:
  WebSearchTool() {
    const char* db = std::getenv("MAT_SEARCH_DB");
    if (db == nullptr || *db == '\0') {
      problem_ =
          "no search backend is configured: set MAT_SEARCH_DB to a corpus built with `mat index "
          "DIR --out corpus.db`";
      return;
    }
    try {
      corpus_.emplace(SearchCorpus::open(db));
    } catch (const core::Error& e) {
      problem_ = std::string("MAT_SEARCH_DB: ") + e.what();
    }
  }

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return problem_; }

  core::Json call(const core::Json& args, const ToolContext&) const override {
    const std::string query = args.at("query").get<std::string>();
    if (query.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ToolError("web_search(): the query is empty; pass the words to look for");
    }
    const int wanted = args.at("max_results").get<int>();
    if (wanted < 1 || wanted > kMaxResults) {
      throw ToolError("web_search(): 'max_results' must be from 1 to " +
                      std::to_string(kMaxResults));
    }
    core::Json results = core::Json::array();
    for (const SearchHit& hit : corpus_->search(query, wanted)) {
      results.push_back({{"title", hit.title}, {"url", hit.url}, {"snippet", hit.snippet}});
    }
    return results;
  }

 private:
  std::optional<SearchCorpus> corpus_;
  std::optional<std::string> problem_;
  ToolSpec spec_{.name = "web_search",
                 .description =
                     "Searches for documents about a query. Returns a list of results, best "
                     "first, each a dict with 'title', 'url' and 'snippet' (matched words in "
                     "**bold**); an empty list when nothing matches. Use a few precise keywords.",
                 .inputs = {{.name = "query",
                             .type = ValueType::kString,
                             .description = "What to look for.",
                             .optional = false,
                             .default_value = nullptr},
                            {.name = "max_results",
                             .type = ValueType::kInteger,
                             .description = "How many results to return (1 to 20).",
                             .optional = true,
                             .default_value = kDefaultResults}},
                 .output_type = ValueType::kArray,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_web_search_tool() {
  return std::make_unique<WebSearchTool>();
}

}  // namespace mat::tools

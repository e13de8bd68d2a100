// web_search: ranked results for a query from the configured backend (search_backend.h): the
// offline corpus or an online search service.
#include "mat/tools/builtin_tools.h"

namespace mat::tools {
namespace {

constexpr int kDefaultResults = 5;
constexpr int kMaxResults = 20;

class WebSearchTool : public Tool {
 public:
  explicit WebSearchTool(SearchBackendChoice search) : search_(std::move(search)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return search_.problem; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
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
    for (const SearchHit& hit : search_.backend->search(query, wanted, context.deadline)) {
      results.push_back({{"title", hit.title}, {"url", hit.url}, {"snippet", hit.snippet}});
    }
    return results;
  }

 private:
  SearchBackendChoice search_;
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

std::unique_ptr<Tool> make_web_search_tool(SearchBackendChoice search) {
  return std::make_unique<WebSearchTool>(std::move(search));
}

}  // namespace mat::tools

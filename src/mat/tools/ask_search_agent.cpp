// ask_search_agent (MAT's name): a question answered from what a search finds. MAT hands the
// question to a browsing sub-agent; here the search backend's best hits are read (pages fetched
// by the host, or the corpus's copies) and the tools' language model answers from them, naming
// its sources, in one bounded request.
#include "mat/tools/builtin_tools.h"
#include "mat/tools/model_request.h"

namespace mat::tools {
namespace {

constexpr int kHitsSearched = 5;
constexpr int kHitsRead = 3;
constexpr size_t kCharsPerSource = 6'000;
constexpr int kMaxAnswerTokens = 1024;
constexpr const char* kInstructions =
    "You answer a question from search results and the text of the best of them. Use only what "
    "the sources say; quote names, numbers and dates exactly; cite sources as [1], [2]. When the "
    "sources do not answer the question, say so and say what they do say.";

// The first `limit` bytes of `text`, not splitting a UTF-8 character, with a marker when cut.
std::string cut(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "\n[... cut]";
}

class AskSearchAgentTool : public Tool {
 public:
  AskSearchAgentTool(SearchBackendChoice search, std::shared_ptr<llm::ChatModel> model)
      : search_(std::move(search)), model_(std::move(model)) {}

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override {
    if (search_.problem) return search_.problem;
    return missing_model(model_, "language model");
  }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string query = args.at("query").get<std::string>();
    if (query.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ToolError("ask_search_agent(): the query is empty; ask a question");
    }
    const std::vector<SearchHit> hits =
        search_.backend->search(query, kHitsSearched, context.deadline);
    if (hits.empty()) {
      return "No results for '" + query + "' in " + search_.backend->name() +
             ". Try other words, or fewer of them.";
    }
    std::string sources;
    std::string listing = "\n\nSources:";
    for (size_t i = 0; i < hits.size(); ++i) {
      const SearchHit& hit = hits[i];
      const std::string number = "[" + std::to_string(i + 1) + "]";
      listing += "\n" + number + " " + hit.title + " - " + hit.url;
      sources += "\n\n" + number + " " + hit.title + " (" + hit.url + ")\n";
      if (static_cast<int>(i) >= kHitsRead) {
        sources += hit.snippet;
        continue;
      }
      try {
        sources += cut(search_.backend->read(hit, context.deadline), kCharsPerSource);
      } catch (const ToolError& e) {  // an unreadable page leaves its snippet, not the answer
        sources += hit.snippet + "\n[the page could not be read: " + e.what() + "]";
      }
    }
    const std::vector<llm::ChatMessage> messages = {
        llm::ChatMessage::text(llm::Role::kSystem, kInstructions),
        llm::ChatMessage::text(llm::Role::kUser,
                               "Question: " + query + "\n\nSearch results:" + sources)};
    return ask_model(*model_, spec_.name, messages, context, kMaxAnswerTokens) + listing;
  }

 private:
  SearchBackendChoice search_;
  std::shared_ptr<llm::ChatModel> model_;
  ToolSpec spec_{.name = "ask_search_agent",
                 .description =
                     "Searches for a question's answer and reads the best results. Returns an "
                     "answer written from those sources, citing them as [1], [2], followed by "
                     "the list of sources (title - url). Ask one precise question.",
                 .inputs = {{.name = "query",
                             .type = ValueType::kString,
                             .description = "The question, in full words.",
                             .optional = false,
                             .default_value = nullptr}},
                 .output_type = ValueType::kString,
                 .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_ask_search_agent_tool(SearchBackendChoice search,
                                                 std::shared_ptr<llm::ChatModel> model) {
  return std::make_unique<AskSearchAgentTool>(std::move(search), std::move(model));
}

}  // namespace mat::tools

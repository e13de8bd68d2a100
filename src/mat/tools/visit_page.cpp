// visit_page: a web page as readable markdown, in pages of fixed size so that a long page does
// not flood the model's context. The host fetches (page_fetch.h); page_text.h turns the body
// into markdown. The markdown of recently visited addresses
// is kept, so that reading page 2 does not fetch the page again.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <list>
#include <memory>
#include <mutex>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/page_fetch.h"
#include "mat/tools/page_text.h"

namespace mat::tools {
namespace {

constexpr size_t kPageChars = 8'000;
constexpr size_t kCacheEntries = 32;
constexpr size_t kCacheBytes = size_t{32} << 20;

bool is_continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Splits UTF-8 `text` into pages of at most kPageChars characters, each ending at a line break
// (or else a space) in its second half when there is one, so that words and lines stay whole.
std::vector<std::string> split_pages(const std::string& text) {
  std::vector<std::string> pages;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start;
    for (size_t chars = 0; end < text.size() && chars < kPageChars; ++chars) {
      do ++end;
      while (end < text.size() && is_continuation_byte(text[end]));
    }
    if (end < text.size()) {
      const size_t half = start + (end - start) / 2;
      size_t cut = text.rfind('\n', end - 1);
      if (cut == std::string::npos || cut < half) cut = text.rfind(' ', end - 1);
      if (cut != std::string::npos && cut >= half) end = cut + 1;
    }
    pages.push_back(text.substr(start, end - start));
    start = end;
  }
  return pages;
}

struct Visited {
  std::string url;  // after redirects
  std::vector<std::string> pages;
  size_t bytes = 0;
};

// The pages of recently visited addresses, the most recently used first, bounded in entries
// and bytes. Shared by the runs of the process.
class PageCache {
 public:
  std::shared_ptr<const Visited> find(const std::string& url) {
    const std::lock_guard lock(mutex_);
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&url](const Entry& entry) { return entry.first == url; });
    if (it == entries_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it);
    return it->second;
  }

  void add(const std::string& url, std::shared_ptr<const Visited> visited) {
    const std::lock_guard lock(mutex_);
    // Two runs may have fetched the same address at once: keep the newer.
    std::erase_if(entries_, [&](const Entry& entry) {
      if (entry.first != url) return false;
      bytes_ -= entry.second->bytes;
      return true;
    });
    bytes_ += visited->bytes;
    entries_.emplace_front(url, std::move(visited));
    while (entries_.size() > kCacheEntries || (bytes_ > kCacheBytes && entries_.size() > 1)) {
      bytes_ -= entries_.back().second->bytes;
      entries_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const Visited>>;
  std::mutex mutex_;
  std::list<Entry> entries_;
  size_t bytes_ = 0;
};

class VisitPageTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string url = args.at("url").get<std::string>();
    if (url.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ToolError("visit_page(): the url is empty; pass the address of a web page");
    }
    const auto page = args.at("page").get<long long>();
    if (page < 1)
      throw ToolError("visit_page(): 'page' counts from 1, got " + std::to_string(page));
    const std::shared_ptr<const Visited> visited = visit(url, context);
    const size_t count = visited->pages.size();
    if (static_cast<size_t>(page) > count) {
      throw ToolError("visit_page(): '" + url + "' has " + std::to_string(count) +
                      (count == 1 ? " page" : " pages") + ", so there is no page " +
                      std::to_string(page) + "; pass a page from 1 to " + std::to_string(count));
    }
    std::string out = "Address: " + visited->url + " · page " + std::to_string(page) + " of " +
                      std::to_string(count) + "\n\n" + visited->pages[page - 1];
    if (static_cast<size_t>(page) < count) {
      out += "\n[… more on the next page: visit_page(url=" + core::Json(url).dump() +
             ", page=" + std::to_string(page + 1) + ")]\n";
    }
    return out;
  }

 private:
  std::shared_ptr<const Visited> visit(const std::string& url, const ToolContext& context) const {
    if (std::shared_ptr<const Visited> known = cache_.find(url)) return known;
    FetchOptions options = fetch_options_from_environment();
    // The fetch ends with the agent's step, however long a fetch may take on its own.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        context.deadline - std::chrono::steady_clock::now());
    options.timeout = std::clamp(left, std::chrono::milliseconds(1), options.timeout);
    const FetchedPage fetched = fetch_page(url, options);
    auto visited = std::make_shared<Visited>();
    visited->url = fetched.url;
    visited->pages = split_pages(page_markdown(fetched));
    visited->bytes = fetched.url.size();
    for (const std::string& text : visited->pages) visited->bytes += text.size();
    cache_.add(url, visited);
    return visited;
  }

  mutable PageCache cache_;
  ToolSpec spec_{
      .name = "visit_page",
      .description =
          "Reads a web page (http or https) as markdown text: HTML pages as their readable text, "
          "and plain text, JSON, XML, CSV and PDF files. Long pages come in pages of about 8,000 "
          "characters; the first line says which page of how many, and the end says how to get "
          "the next one. Images and other binary files cannot be read.",
      .inputs = {{.name = "url",
                  .type = ValueType::kString,
                  .description =
                      "The address of the page, e.g. 'https://en.wikipedia.org/wiki/Etna'.",
                  .optional = false,
                  .default_value = nullptr},
                 {.name = "page",
                  .type = ValueType::kInteger,
                  .description = "Which page of a long text to read, from 1.",
                  .optional = true,
                  .default_value = 1}},
      .output_type = ValueType::kString,
      .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_visit_page_tool() {
  return std::make_unique<VisitPageTool>();
}

}  // namespace mat::tools

#include "mat/tools/page_text.h"

#include <algorithm>
#include <limits>

#include "mat/tools/documents.h"
#include "mat/tools/tool.h"

namespace mat::tools {
namespace {

constexpr std::string_view kReadable =
    "only HTML, plain text, markdown, JSON, XML, CSV and PDF pages can be read";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The file name whose extension makes document_to_markdown read a body of `content_type` the
// right way: "page" alone lets it tell by the bytes. ToolError for types it cannot read.
std::string reader_name(const FetchedPage& page) {
  const std::string_view type = page.content_type;
  if (type == "text/html" || type == "application/xhtml+xml") return "page.html";
  if (type == "application/pdf") return "page.pdf";
  if (type == "text/csv") return "page.csv";
  if (type.starts_with("text/") || type == "application/json" || type == "application/xml" ||
      type == "application/javascript" || type == "application/yaml" ||
      type == "application/x-yaml" || ends_with(type, "+json") || ends_with(type, "+xml")) {
    return "page.txt";  // JSON, XML and the like as written: their markup is part of the answer
  }
  if (type.empty() || type == "application/octet-stream" || type == "binary/octet-stream") {
    return "page";
  }
  if (type.starts_with("image/")) {
    throw ToolError("'" + page.url + "' is an image (" + page.content_type + "), not a page; " +
                    std::string(kReadable) +
                    ". Images must be attached to the task to be looked at; or find a page that "
                    "describes this one");
  }
  throw ToolError("'" + page.url + "' is a file of type " + page.content_type +
                  ", which cannot be read as text; " + std::string(kReadable) +
                  ". Find a page about it instead");
}

}  // namespace

std::string page_markdown(const FetchedPage& page) {
  if (page.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return "[the page is empty]\n";
  }
  DocumentLimits limits;
  limits.max_chars = std::numeric_limits<size_t>::max();  // paged here instead of cut
  limits.max_file_bytes = std::max(limits.max_file_bytes, page.body.size());
  try {
    std::string markdown = document_to_markdown(page.body, reader_name(page), limits).markdown;
    if (markdown.find_first_not_of(" \t\r\n") != std::string::npos) return markdown;
    return "[the page has no readable text: it may be built by JavaScript, which visit_page does "
           "not run; try another source]\n";
  } catch (const ToolError& e) {
    throw ToolError("cannot read '" + page.url + "' (" +
                    (page.content_type.empty() ? "no content type" : page.content_type) +
                    "): " + e.what());
  }
}

}  // namespace mat::tools

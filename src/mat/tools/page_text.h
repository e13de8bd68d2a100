// A fetched web page as readable markdown, by the converters of inspect_file_as_text chosen from
// its content type: what visit_page pages through and what ask_search_agent reads.
#pragma once

#include <string>

#include "mat/tools/page_fetch.h"

namespace mat::tools {

// The whole page as markdown (not cut), or a bracketed note when it is empty or has no readable
// text. ToolError naming the address for images and other types that are not text.
std::string page_markdown(const FetchedPage& page);

}  // namespace mat::tools

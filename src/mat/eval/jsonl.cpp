#include "mat/eval/jsonl.h"

namespace mat::eval {

void for_each_jsonl_object(
    std::string_view text,
    const std::function<void(const std::optional<core::Json>& object, size_t line)>& visit) {
  size_t number = 0;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::optional<core::Json> object = core::parse_untrusted_json(line);
    if (object && !object->is_object()) object.reset();
    visit(object, number);
  }
}

}  // namespace mat::eval

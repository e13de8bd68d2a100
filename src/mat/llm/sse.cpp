#include "mat/llm/sse.h"

namespace mat::llm {

std::vector<std::string> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> events;
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes.front() == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < bytes.size()) {
    size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    line_.append(bytes.substr(pos, end - pos));
    take_line(line_, events);
    line_.clear();
    // Lines end with "\r\n", "\n" or "\r"; a "\r\n" may be split between two feeds.
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size()) {
        skip_lf_ = true;
      } else if (bytes[end + 1] == '\n') {
        ++end;
      }
    }
    pos = end + 1;
  }
  return events;
}

std::optional<std::string> SseParser::finish() {
  std::vector<std::string> events;
  if (!line_.empty()) take_line(line_, events);
  line_.clear();
  take_line("", events);  // a blank line dispatches whatever data is pending
  skip_lf_ = false;
  if (events.empty()) return std::nullopt;
  return std::move(events.front());
}

void SseParser::take_line(std::string_view line, std::vector<std::string>& events) {
  if (line.empty()) {
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  if (field != "data") return;
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

}  // namespace mat::llm

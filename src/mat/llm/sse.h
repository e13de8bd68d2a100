// Incremental reader of a server-sent-events stream ("text/event-stream", as streamed chat
// completions arrive): bytes go in as the network delivers them, split anywhere, and the data of
// each complete event comes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mat::llm {

class SseParser {
 public:
  // Consumes the next bytes of the stream; returns the data of every event they complete, in
  // order (an event's "data:" lines joined by '\n'). Comments (":" lines, used as keep-alives)
  // and the other fields (event, id, retry) are skipped.
  std::vector<std::string> feed(std::string_view bytes);

  // The stream ended: returns the data of a last event the server did not close with a blank
  // line, if any (lenient: the standard drops it, but some servers end that way).
  std::optional<std::string> finish();

 private:
  void take_line(std::string_view line, std::vector<std::string>& events);

  std::string line_;  // the incomplete line carried over from the previous feed
  std::string data_;  // the data of the event being read
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous feed ended with '\r': a '\n' next completes that break
};

}  // namespace mat::llm

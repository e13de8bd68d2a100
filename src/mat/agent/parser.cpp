#include "mat/agent/parser.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "mat/agent/prompt.h"

namespace mat::agent {
namespace {

std::string trim(std::string_view text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  auto begin = std::find_if(text.begin(), text.end(), not_space);
  auto end =
      std::find_if(text.rbegin(), std::string_view::reverse_iterator(begin), not_space).base();
  return std::string(begin, end);
}

std::string format_reminder() {
  return "Write your step as:\nThought: your reasoning\nCode:\n```py\n# your Python code\n```" +
         std::string(kEndMarker);
}

bool is_python_tag(std::string_view tag) {
  static constexpr std::array<std::string_view, 6> kTags = {"",        "py",  "python",
                                                            "python3", "py3", "tool_code"};
  std::string lower(tag);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return std::find(kTags.begin(), kTags.end(), lower) != kTags.end();
}

// Drops the text from the first end marker on; the model sometimes keeps writing after it.
std::string_view before_end_marker(std::string_view raw) {
  const size_t at = raw.find(kEndMarker);
  return at == std::string_view::npos ? raw : raw.substr(0, at);
}

std::string strip_thought_label(std::string_view text) {
  std::string thought = trim(text);
  constexpr std::string_view kLabel = "Thought:";
  if (thought.rfind(kLabel, 0) == 0)
    thought = trim(std::string_view(thought).substr(kLabel.size()));
  return thought;
}

}  // namespace

std::variant<ParsedStep, ParseError> parse_step(std::string_view raw) {
  const std::string_view text = before_end_marker(raw);
  const size_t open = text.find("```");
  if (open == std::string_view::npos) {
    return ParseError{"Your reply has no code block, so nothing was run. " + format_reminder() +
                      "\nTo answer, call final_answer(answer=...) inside the code block."};
  }
  const size_t tag_end = text.find('\n', open + 3);
  if (tag_end == std::string_view::npos) {
    return ParseError{"Your code block is empty. " + format_reminder()};
  }
  const std::string tag = trim(text.substr(open + 3, tag_end - open - 3));
  if (!is_python_tag(tag)) {
    return ParseError{"Your code block is marked as '" + tag + "', but only Python runs here. " +
                      format_reminder()};
  }
  // A missing closing fence is tolerated: generation stops at the end marker, so the block is
  // complete even when the model put the marker right after the code.
  const size_t close = text.find("```", tag_end + 1);
  const std::string_view body = close == std::string_view::npos
                                    ? text.substr(tag_end + 1)
                                    : text.substr(tag_end + 1, close - tag_end - 1);
  ParsedStep step;
  step.code = trim(body);
  if (step.code.empty()) return ParseError{"Your code block is empty. " + format_reminder()};

  std::string_view head = text.substr(0, open);
  if (const size_t label = head.rfind("Code:"); label != std::string_view::npos) {
    head = head.substr(0, label);
  }
  step.thought = strip_thought_label(head);
  return step;
}

std::string render_step(const ParsedStep& step) {
  return "Thought: " + step.thought + "\nCode:\n```py\n" + step.code + "\n```" +
         std::string(kEndMarker);
}

}  // namespace mat::agent

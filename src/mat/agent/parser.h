// Turns a model's raw reply into a thought and a code block. Tolerant where that is safe
// (missing "Code:" label, ```python instead of ```py, a missing closing fence at the end marker,
// trailing text), precise where it is not: the error tells the model exactly what to fix.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace mat::agent {

struct ParsedStep {
  std::string thought;
  std::string code;
};

struct ParseError {
  std::string message;  // shown to the model as the step's error
};

std::variant<ParsedStep, ParseError> parse_step(std::string_view raw);

// A reply rendered back in the canonical step format (what the model is trained to write).
std::string render_step(const ParsedStep& step);

}  // namespace mat::agent

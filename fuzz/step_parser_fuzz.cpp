// A model's reply, which can be anything: parse_step must turn it into a step or an error, and a
// step rendered in the canonical format (what training data holds) must read back as itself.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "mat/agent/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mat::agent::ParsedStep;
  const auto first = mat::agent::parse_step({reinterpret_cast<const char*>(data), size});
  const auto* step = std::get_if<ParsedStep>(&first);
  if (step == nullptr) return 0;
  const auto again = mat::agent::parse_step(mat::agent::render_step(*step));
  const auto* same = std::get_if<ParsedStep>(&again);
  if (same == nullptr || same->thought != step->thought || same->code != step->code) {
    __builtin_trap();
  }
  return 0;
}

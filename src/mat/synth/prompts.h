// The teacher's prompts (prompts/synth/*.txt, embedded at build time): versioned by file name,
// and recorded with every output they produce.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace mat::synth {

struct StagePrompt {
  std::string version;  // "queries-v1"
  std::string text;
};

// The shipped prompt `version` ("queries-v1" reads prompts/synth/queries-v1.txt). Throws
// core::Error for an unknown version.
StagePrompt builtin_prompt(std::string_view version);

// The shipped seed queries ("seeds-v1" reads prompts/synth/seeds-v1.json): a JSON array of
// {"query", "tools", "files"}. Throws core::Error for an unknown version.
std::string builtin_seeds(std::string_view version);

// `text` with every {{name}} replaced by its value.
std::string fill(std::string text, const std::map<std::string, std::string>& values);

}  // namespace mat::synth

#include "mat/synth/prompts.h"

#include "mat/core/error.h"

std::string_view mat_synth_embedded_prompt(std::string_view name);

namespace mat::synth {

StagePrompt builtin_prompt(std::string_view version) {
  const std::string_view text = mat_synth_embedded_prompt(std::string(version) + ".txt");
  if (text.empty()) {
    throw core::Error("unknown synth prompt \"" + std::string(version) +
                      "\": the shipped ones are in prompts/synth/");
  }
  return {std::string(version), std::string(text)};
}

std::string builtin_seeds(std::string_view version) {
  const std::string_view text = mat_synth_embedded_prompt(std::string(version) + ".json");
  if (text.empty()) {
    throw core::Error("unknown seed set \"" + std::string(version) +
                      "\": the shipped ones are in prompts/synth/");
  }
  return std::string(text);
}

std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "{{" + name + "}}";
    for (auto at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

}  // namespace mat::synth

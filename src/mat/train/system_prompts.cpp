#include "mat/train/system_prompts.h"

#include <algorithm>
#include <memory>

#include "mat/core/error.h"
#include "mat/sandbox/sandbox.h"
#include "mat/tools/final_answer.h"
#include "mat/tools/registry.h"

namespace mat::train {
namespace {

// The registry of the named tools, in the record's order, whether or not they work here: the
// prompt only reads their schemas.
tools::ToolRegistry registry_of(const agent::Trajectory& record) {
  std::vector<std::unique_ptr<tools::Tool>> known = tools::builtin_tools();
  known.push_back(tools::make_final_answer_tool());
  tools::ToolRegistry registry;
  for (const std::string& name : record.tools) {
    auto it = std::find_if(known.begin(), known.end(),
                           [&](const auto& tool) { return tool && tool->spec().name == name; });
    if (it == known.end()) {
      throw core::Error("trajectory " + record.id + " lists the tool '" + name +
                        "', which this mat does not have, so its system prompt cannot be made "
                        "again: pass the prompt it was run with (--system-prompt FILE)");
    }
    registry.add(std::move(*it));
  }
  return registry;
}

}  // namespace

SystemPrompts::SystemPrompts(SystemPromptOptions options) : options_(std::move(options)) {}

const std::string& SystemPrompts::of(const agent::Trajectory& record) {
  if (options_.fixed) return *options_.fixed;
  if (auto it = options_.by_version.find(record.prompt_version); it != options_.by_version.end()) {
    return it->second;
  }
  std::string key = record.prompt_version;
  for (const std::string& name : record.tools) key += "\n" + name;
  auto it = rendered_.find(key);
  if (it == rendered_.end()) it = rendered_.emplace(key, render(record)).first;
  return it->second;
}

std::string SystemPrompts::render(const agent::Trajectory& record) const {
  agent::PromptTemplate prompt;
  if (options_.template_file && options_.template_file->version == record.prompt_version) {
    prompt = *options_.template_file;
  } else if (record.prompt_version.starts_with("file:")) {
    throw core::Error("trajectory " + record.id + " was made with the prompt template " +
                      record.prompt_version +
                      ": pass that file with --prompt-template FILE (or the whole system "
                      "prompt with --system-prompt FILE)");
  } else {
    try {
      prompt = agent::PromptTemplate::builtin(record.prompt_version);
    } catch (const core::Error& e) {
      throw core::Error("trajectory " + record.id + ": " + e.what());
    }
  }
  const auto& imports = options_.authorized_imports.empty() ? sandbox::default_allowed_imports()
                                                            : options_.authorized_imports;
  return agent::render_system_prompt(prompt, registry_of(record), imports);
}

}  // namespace mat::train

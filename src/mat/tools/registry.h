// The tool registry: validates tool schemas on registration and arguments on every call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mat/tools/tool.h"
#include "mat/tools/tool_models.h"

namespace mat::tools {

class ToolRegistry {
 public:
  // Registers a tool. Throws core::Error when its schema is invalid: name or an input name not a
  // Python identifier (or a Python keyword), a duplicate name, an empty description, duplicate
  // inputs, or a required input after an optional one.
  void add(std::unique_ptr<Tool> tool);

  const Tool* find(std::string_view name) const;
  std::vector<const Tool*> tools() const;  // in registration order
  std::vector<std::string> names() const;

  // Checks `args` (a JSON object) against the tool's inputs and returns them with defaults filled.
  // Throws ToolError with a message that names the tool, the argument and what was expected.
  core::Json validate_arguments(const ToolSpec& spec, const core::Json& args) const;

  // Validates and calls. Throws ToolError for an unknown tool or bad arguments; errors thrown by
  // the tool itself propagate.
  core::Json call(std::string_view name, const core::Json& args, const ToolContext& context) const;

 private:
  std::vector<std::unique_ptr<Tool>> tools_;
};

// The call's shape as Python reads it, "name(input: type, other: type = optional)": what usage
// errors and compact prompts show.
std::string signature(const ToolSpec& spec);

// A built-in tool that cannot work on this machine, and why (what to install or set).
struct UnavailableTool {
  std::string name;
  std::string reason;
};

// Every built-in tool except final_answer, in the registry's order, whether or not it works on
// this machine (what a prompt that lists them needs; see builtin_registry() for running them).
std::vector<std::unique_ptr<Tool>> builtin_tools(const ToolModels& models = {});

// The registry with every built-in tool that works on this machine with `models`. Those that do
// not are left out, and listed in `unavailable` when it is given.
ToolRegistry builtin_registry(const ToolModels& models = {},
                              std::vector<UnavailableTool>* unavailable = nullptr);

// The built-in tools `names` lists, in the registry's order, and final_answer (always there: it
// ends the run); every one that works here when `names` is empty. Listing fewer tools keeps a small
// controller's prompt short. Throws core::Error for a name that is no built-in tool, or for a tool
// that cannot work on this machine (saying why).
ToolRegistry builtin_registry_of(const std::vector<std::string>& names,
                                 const ToolModels& models = {});

}  // namespace mat::tools

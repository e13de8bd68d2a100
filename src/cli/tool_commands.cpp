#include "tool_commands.h"

#include <filesystem>
#include <iostream>
#include <memory>

#include "mat/agent/prompt.h"
#include "mat/agent/trajectory.h"
#include "mat/tools/registry.h"
#include "tool_models_setup.h"

namespace mat::cli {
namespace {

// `--key value` pairs after the tool name. A value that parses as JSON (a number, true, a list)
// is passed as that value; anything else is a string, so `--text hello` needs no quoting.
core::Json parse_tool_arguments(const std::vector<std::string>& words) {
  core::Json args = core::Json::object();
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.rfind("--", 0) != 0 || word.size() == 2) {
      throw CLI::ValidationError("tool arguments", "expected --NAME VALUE, got '" + word + "'");
    }
    std::string key = word.substr(2);
    std::string value;
    if (const size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < words.size()) {
      value = words[++i];
    } else {
      throw CLI::ValidationError("tool arguments", "--" + key + " has no value");
    }
    if (core::json_nesting_depth(value) > core::kMaxJsonDepth) {
      throw CLI::ValidationError("--" + key, "the value nests arrays or objects more than " +
                                                 std::to_string(core::kMaxJsonDepth) + " deep");
    }
    std::optional<core::Json> parsed = core::parse_untrusted_json(value);
    args[key] = parsed ? std::move(*parsed) : core::Json(value);
  }
  return args;
}

// The built-in tools with the models the environment configures (tool_models_setup.h); a bad
// setting is a usage error.
tools::ToolRegistry registry_from_env(std::vector<tools::UnavailableTool>* unavailable = nullptr) {
  try {
    return tools::builtin_registry(make_tool_models(ToolModelSettings::from_env(), nullptr),
                                   unavailable);
  } catch (const core::Error& e) {
    throw CLI::ValidationError("tool models", e.what());
  }
}

int list_tools(bool as_json) {
  std::vector<tools::UnavailableTool> unavailable;
  const tools::ToolRegistry registry = registry_from_env(&unavailable);
  if (as_json) {
    core::Json all = core::Json::array();
    for (const tools::Tool* tool : registry.tools()) {
      core::Json entry = tool->spec().to_json();
      entry["available"] = true;
      all.push_back(std::move(entry));
    }
    for (const tools::UnavailableTool& tool : unavailable) {
      all.push_back({{"name", tool.name}, {"available", false}, {"reason", tool.reason}});
    }
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  for (const tools::Tool* tool : registry.tools()) {
    std::cout << agent::describe_tool(tool->spec()) << "\n";
  }
  for (const tools::UnavailableTool& tool : unavailable) {
    std::cout << tool.name << ": not available on this machine: " << tool.reason << "\n";
  }
  return 0;
}

int run_tool(const std::string& name, const std::vector<std::string>& words) {
  const tools::ToolRegistry registry = registry_from_env();
  const core::Json args = parse_tool_arguments(words);
  try {
    const core::Json result =
        registry.call(name, args, tools::ToolContext{std::filesystem::current_path()});
    std::cout << agent::answer_text(result) << "\n";
    return 0;
  } catch (const tools::ToolError& e) {
    std::cerr << "mat tool: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_tool_commands(CLI::App& app, int& exit_code) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* list = app.add_subcommand("tools", "List the tools the agent can call");
  list->add_flag("--json", *as_json, "Print the tool schemas as JSON");
  list->callback([as_json, &exit_code] { exit_code = list_tools(*as_json); });

  auto name = std::make_shared<std::string>();
  CLI::App* one =
      app.add_subcommand("tool", "Run one tool directly: mat tool NAME --ARG VALUE ...");
  one->add_option("name", *name, "The tool's name (see `mat tools`)")->required();
  one->allow_extras();
  one->prefix_command();
  one->callback([name, one, &exit_code] { exit_code = run_tool(*name, one->remaining()); });
}

}  // namespace mat::cli

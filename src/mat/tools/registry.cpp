#include "mat/tools/registry.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/final_answer.h"

namespace mat::tools {
namespace {

bool is_python_identifier(std::string_view name) {
  static constexpr std::array<std::string_view, 35> kKeywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  const bool chars_ok = std::all_of(name.begin(), name.end(),
                                    [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  return chars_ok && std::find(kKeywords.begin(), kKeywords.end(), name) == kKeywords.end();
}

void check_spec(const ToolSpec& spec) {
  auto fail = [&](const std::string& why) {
    throw core::Error("invalid tool schema '" + spec.name + "': " + why);
  };
  if (!is_python_identifier(spec.name)) fail("the name must be a Python identifier");
  if (spec.description.empty()) fail("the description for the model is empty");
  std::set<std::string> seen;
  bool optional_seen = false;
  for (const ToolInput& input : spec.inputs) {
    if (!is_python_identifier(input.name)) fail("input '" + input.name + "' is not an identifier");
    if (!seen.insert(input.name).second) fail("input '" + input.name + "' appears twice");
    if (input.description.empty()) fail("input '" + input.name + "' has no description");
    if (!input.optional && optional_seen) {
      fail("required input '" + input.name + "' follows an optional one");
    }
    optional_seen = optional_seen || input.optional;
  }
}

// Why `value` does not fit `type`, or "" when it does.
std::string type_mismatch(const core::Json& value, ValueType type) {
  switch (type) {
    case ValueType::kString:
    case ValueType::kImage:
      return value.is_string() ? "" : "a string";
    case ValueType::kInteger:
      if (value.is_number_integer()) return "";
      if (value.is_number_float() &&
          value.get<double>() == static_cast<long long>(value.get<double>())) {
        return "";
      }
      return "an integer";
    case ValueType::kNumber:
      return value.is_number() ? "" : "a number";
    case ValueType::kBoolean:
      return value.is_boolean() ? "" : "True or False";
    case ValueType::kArray:
      return value.is_array() ? "" : "a list";
    case ValueType::kObject:
      return value.is_object() ? "" : "a dict";
    case ValueType::kAny:
      return "";
  }
  return "";
}

std::string python_type_of(const core::Json& value) {
  if (value.is_string()) return "str";
  if (value.is_boolean()) return "bool";
  if (value.is_number_integer()) return "int";
  if (value.is_number()) return "float";
  if (value.is_array()) return "list";
  if (value.is_object()) return "dict";
  return "None";
}

}  // namespace

std::string signature(const ToolSpec& spec) {
  std::string out = spec.name + "(";
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    if (i > 0) out += ", ";
    out += spec.inputs[i].name + ": " + std::string(type_name(spec.inputs[i].type));
    if (spec.inputs[i].optional) out += " = optional";
  }
  return out + ")";
}

void ToolRegistry::add(std::unique_ptr<Tool> tool) {
  const ToolSpec& spec = tool->spec();
  check_spec(spec);
  if (find(spec.name) != nullptr) {
    throw core::Error("invalid tool schema '" + spec.name +
                      "': a tool with this name is already registered");
  }
  tools_.push_back(std::move(tool));
}

const Tool* ToolRegistry::find(std::string_view name) const {
  for (const auto& tool : tools_) {
    if (tool->spec().name == name) return tool.get();
  }
  return nullptr;
}

std::vector<const Tool*> ToolRegistry::tools() const {
  std::vector<const Tool*> out;
  for (const auto& tool : tools_) out.push_back(tool.get());
  return out;
}

std::vector<std::string> ToolRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& tool : tools_) out.push_back(tool->spec().name);
  return out;
}

core::Json ToolRegistry::validate_arguments(const ToolSpec& spec, const core::Json& args) const {
  const std::string usage = " Usage: " + signature(spec) + ".";
  if (!args.is_object()) throw ToolError(spec.name + " takes keyword arguments." + usage);
  for (const auto& [key, value] : args.items()) {
    const bool known =
        std::any_of(spec.inputs.begin(), spec.inputs.end(),
                    [&key = key](const ToolInput& input) { return input.name == key; });
    if (!known) throw ToolError(spec.name + "() got an unexpected argument '" + key + "'." + usage);
  }
  core::Json validated = core::Json::object();
  for (const ToolInput& input : spec.inputs) {
    if (!args.contains(input.name) || args[input.name].is_null()) {
      if (!input.optional) {
        throw ToolError(spec.name + "() is missing the required argument '" + input.name + "'." +
                        usage);
      }
      if (!input.default_value.is_null()) validated[input.name] = input.default_value;
      continue;
    }
    const core::Json& value = args[input.name];
    if (const std::string expected = type_mismatch(value, input.type); !expected.empty()) {
      throw ToolError(spec.name + "(): argument '" + input.name + "' must be " + expected +
                      ", got " + python_type_of(value) + "." + usage);
    }
    validated[input.name] = value;
  }
  return validated;
}

core::Json ToolRegistry::call(std::string_view name, const core::Json& args,
                              const ToolContext& context) const {
  const Tool* tool = find(name);
  if (tool == nullptr) {
    std::string known;
    for (const std::string& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw ToolError("unknown tool '" + std::string(name) + "'; available tools: " + known);
  }
  return tool->call(validate_arguments(tool->spec(), args), context);
}

std::vector<std::unique_ptr<Tool>> builtin_tools(const ToolModels& models) {
  std::vector<std::unique_ptr<Tool>> builtin;
  builtin.push_back(make_visualizer_tool(models.vision));
  builtin.push_back(make_object_location_tool(models.vision));
  builtin.push_back(make_ocr_tool());
  builtin.push_back(make_face_detection_tool());
  builtin.push_back(make_draw_box_tool());
  builtin.push_back(make_crop_tool());
  builtin.push_back(make_add_text_tool());
  builtin.push_back(make_segmentation_tool());
  builtin.push_back(make_inspect_file_tool(models.text));
  const SearchBackendChoice search = search_backend_from_env();
  builtin.push_back(make_web_search_tool(search));
  builtin.push_back(make_ask_search_agent_tool(search, models.text));
  builtin.push_back(make_visit_page_tool());
  builtin.push_back(make_image_generator_tool(models.images));
  builtin.push_back(make_image_edit_tool(models.images));
  return builtin;
}

ToolRegistry builtin_registry(const ToolModels& models, std::vector<UnavailableTool>* unavailable) {
  ToolRegistry registry;
  for (std::unique_ptr<Tool>& tool : builtin_tools(models)) {
    if (std::optional<std::string> reason = tool->unavailable()) {
      if (unavailable != nullptr) unavailable->push_back({tool->spec().name, std::move(*reason)});
      continue;
    }
    registry.add(std::move(tool));
  }
  registry.add(make_final_answer_tool());
  return registry;
}

ToolRegistry builtin_registry_of(const std::vector<std::string>& names, const ToolModels& models) {
  std::vector<UnavailableTool> unavailable;
  ToolRegistry all = builtin_registry(models, &unavailable);
  if (names.empty()) return all;
  for (const std::string& name : names) {
    if (all.find(name) != nullptr) continue;
    for (const UnavailableTool& tool : unavailable) {
      if (tool.name == name)
        throw core::Error("the tool '" + name +
                          "' is not available on this machine: " + tool.reason);
    }
    std::string known;
    for (const std::string& n : all.names()) known += (known.empty() ? "" : ", ") + n;
    for (const UnavailableTool& tool : unavailable) known += ", " + tool.name;
    throw core::Error("there is no tool '" + name + "' (the built-in tools: " + known + ")");
  }
  ToolRegistry selected;
  for (std::unique_ptr<Tool>& tool : builtin_tools(models)) {
    if (std::find(names.begin(), names.end(), tool->spec().name) != names.end()) {
      selected.add(std::move(tool));
    }
  }
  selected.add(make_final_answer_tool());
  return selected;
}

}  // namespace mat::tools

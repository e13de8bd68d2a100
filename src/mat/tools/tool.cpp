#include "mat/tools/tool.h"

#include <array>
#include <utility>

namespace mat::tools {
namespace {

constexpr std::array<std::pair<ValueType, std::string_view>, 8> kTypeNames = {{
    {ValueType::kString, "string"},
    {ValueType::kInteger, "integer"},
    {ValueType::kNumber, "number"},
    {ValueType::kBoolean, "boolean"},
    {ValueType::kImage, "image"},
    {ValueType::kArray, "array"},
    {ValueType::kObject, "object"},
    {ValueType::kAny, "any"},
}};

}  // namespace

std::string_view type_name(ValueType type) {
  for (const auto& [value, name] : kTypeNames) {
    if (value == type) return name;
  }
  return "any";
}

std::optional<ValueType> parse_type_name(std::string_view name) {
  for (const auto& [value, type] : kTypeNames) {
    if (type == name) return value;
  }
  return std::nullopt;
}

core::Json ToolSpec::to_json() const {
  core::Json inputs_json = core::Json::array();
  for (const ToolInput& input : inputs) {
    core::Json entry = {{"name", input.name},
                        {"type", type_name(input.type)},
                        {"description", input.description},
                        {"optional", input.optional}};
    if (!input.default_value.is_null()) entry["default"] = input.default_value;
    inputs_json.push_back(std::move(entry));
  }
  return {{"name", name},
          {"description", description},
          {"inputs", std::move(inputs_json)},
          {"output_type", type_name(output_type)}};
}

std::vector<std::string> ToolSpec::input_names() const {
  std::vector<std::string> names;
  for (const ToolInput& input : inputs) names.push_back(input.name);
  return names;
}

std::filesystem::path ToolContext::resolve(const std::string& path) const {
  const std::filesystem::path p(path);
  return p.is_absolute() || work_dir.empty() ? p : work_dir / p;
}

}  // namespace mat::tools

#include "mat/tools/tool.h"

#include <array>
#include <system_error>
#include <utility>

#include "mat/core/confined_dir.h"

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

std::string ToolContext::relative(const std::string& path) const {
  if (path.empty()) throw ToolError("the file path is empty: pass the name of a file");
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (p.is_absolute()) p = p.lexically_relative(work_dir.lexically_normal());
  if (p.empty() || *p.begin() == ".." || p.is_absolute()) {
    throw ToolError("'" + path +
                    "' is outside the working directory: tools only read and write files in it "
                    "(use a relative path such as 'image.png')");
  }
  return p.generic_string();
}

std::string ToolContext::read_file(const std::string& path, size_t max_bytes,
                                   bool allow_empty) const {
  const std::string name = relative(path);
  std::string bytes;
  try {
    bytes = core::ConfinedDir(work_dir).read_regular(name, max_bytes);
  } catch (const core::Error& e) {
    std::error_code error;
    if (!std::filesystem::exists(work_dir / name, error) &&
        !std::filesystem::is_symlink(work_dir / name, error)) {
      throw ToolError("file '" + path + "' does not exist in the working directory");
    }
    throw ToolError(e.what());
  }
  if (bytes.empty() && !allow_empty) throw ToolError("file '" + path + "' is empty (0 bytes)");
  return bytes;
}

std::string ToolContext::write_new_file(const std::string& name, std::string_view bytes) const {
  const std::filesystem::path wish(name);
  const core::ConfinedDir dir(work_dir);
  std::string candidate = wish.filename().string();
  for (int n = 2;; ++n) {
    try {
      dir.write_new_file(candidate, bytes, 0644);
      return candidate;
    } catch (const core::Error& e) {
      std::error_code error;
      const bool taken =
          std::filesystem::exists(std::filesystem::symlink_status(work_dir / candidate, error));
      if (!taken || n > 1000) throw ToolError(std::string("cannot save the result: ") + e.what());
    }
    candidate = wish.stem().string() + "_" + std::to_string(n) + wish.extension().string();
  }
}

}  // namespace mat::tools

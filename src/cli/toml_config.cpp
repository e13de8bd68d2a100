#include "toml_config.h"

#include <toml++/toml.h>

#include <iterator>
#include <sstream>

namespace mat::cli {
namespace {

std::string line_of(const toml::node& node) {
  return "line " + std::to_string(node.source().begin.line);
}

// The value as the text CLI11 converts, or nullopt when its TOML type does not suit the option.
std::optional<std::string> scalar_text(const toml::node& node, const CLI::Option& option) {
  const std::string type = option.get_type_name();
  if (option.get_type_size_max() == 0) {  // a flag
    if (const auto value = node.value<bool>()) return *value ? "true" : "false";
    return std::nullopt;
  }
  if (type.find("INT") != std::string::npos) {
    if (const auto value = node.as_integer()) return std::to_string(value->get());
    return std::nullopt;
  }
  if (type.find("FLOAT") != std::string::npos) {
    if (const auto value = node.as_integer()) return std::to_string(value->get());
    if (const auto value = node.as_floating_point()) {
      std::ostringstream text;
      text.precision(17);
      text << value->get();
      return text.str();
    }
    return std::nullopt;
  }
  if (const auto value = node.as_string()) return value->get();
  return std::nullopt;
}

std::string expected(const CLI::Option& option) {
  if (option.get_type_size_max() == 0) return "true or false";
  const std::string type = option.get_type_name();
  if (type.find("INT") != std::string::npos) return "an integer";
  if (type.find("FLOAT") != std::string::npos) return "a number";
  return "a string";
}

}  // namespace

std::string TomlConfig::to_config(const CLI::App*, bool, bool, std::string) const {
  return "";  // mat never writes its configuration back
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
  const CLI::Option* config_option = app_.get_config_ptr();
  const std::string file = config_option != nullptr && config_option->count() > 0
                               ? config_option->as<std::string>()
                               : "the config file";
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw CLI::ConfigError(file + ": line " + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  std::vector<CLI::ConfigItem> items;
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    const CLI::App* command = nullptr;
    for (const CLI::App* sub : app_.get_subcommands({})) {
      if (sub->get_name() == section) command = sub;
    }
    if (table == nullptr || command == nullptr) {
      throw CLI::ConfigError(file + ": " + line_of(section_node) + ": '" + section +
                             "' is not a command of mat; use a table per command, e.g. [run]");
    }
    for (const auto& [key_name, value] : *table) {
      const std::string key(key_name.str());
      const std::string where = file + ": " + line_of(value) + ": [" + section + "] " + key;
      const CLI::Option* option = command->get_option_no_throw("--" + key);
      if (option == nullptr || !option->get_configurable()) {
        throw CLI::ConfigError(where + " is not an option of `mat " + section + "` (see `mat " +
                               section + " --help`)");
      }
      CLI::ConfigItem item;
      item.parents = {section};
      item.name = key;
      const auto take = [&](const toml::node& node) {
        std::optional<std::string> text_value = scalar_text(node, *option);
        if (!text_value) throw CLI::ConfigError(where + " must be " + expected(*option));
        item.inputs.push_back(std::move(*text_value));
      };
      if (const toml::array* list = value.as_array()) {
        if (option->get_items_expected_max() <= 1) {
          throw CLI::ConfigError(where + " takes one value, not a list");
        }
        for (const toml::node& element : *list) take(element);
      } else {
        take(value);
      }
      items.push_back(std::move(item));
    }
  }
  return items;
}

}  // namespace mat::cli

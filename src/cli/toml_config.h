// `mat --config FILE`: option values from a TOML file, a table per subcommand ([run] max-steps =
// 12). Parsed with toml++ and checked against the command line's own options before CLI11 sees
// them, so that a syntax error, an unknown key or a value of the wrong type stops mat with exit 2
// and a message naming the key and its line.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App& app) : app_(app) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override;
  // Throws CLI::ConfigError naming the file, the key and the line.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App& app_;
};

}  // namespace mat::cli

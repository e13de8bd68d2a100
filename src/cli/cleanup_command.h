// `mat cleanup DIR`: repairs a work dir that a killed run left lent to a sandbox uid.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_cleanup_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

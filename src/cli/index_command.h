// `mat index DIR --out corpus.db`: builds the offline search corpus that web_search reads.
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_index_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

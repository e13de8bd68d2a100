// `mat teacher serve|pool|tasks`: the offline procedural teacher that `mat synth` can run
// against with no model at all (see src/mat/teacher/).
#pragma once

#include <CLI/CLI.hpp>

namespace mat::cli {

void add_teacher_command(CLI::App& app, int& exit_code);

}  // namespace mat::cli

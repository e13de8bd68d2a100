// The `mat` binary run as a user runs it, for the CLI tests: with a clean model environment, its
// exit code and output, or stopped by a signal at a known point of the run.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "mat/core/json.h"

namespace mat::testing {

struct MatOutcome {
  int exit_code = -1;
  std::string output;  // stdout, then stderr
};

// Runs `build/mat <args>` through the shell (so `args` may redirect stdout) with
// OPENAI_BASE_URL, OPENAI_API_KEY and MAT_MODEL unset, plus the assignments in `env`.
MatOutcome run_mat(const std::string& args, const std::string& env = "");

struct SignalledRun {
  int wait_status = 0;  // mat's, from waitpid()
  core::Json record;    // the record after mat ended; empty when there was none
  std::string stderr_text;
};

// Starts `mat <args>` and sends it `signal` once the record it checkpoints at `record` holds
// `steps` steps. The signal waits on the record, not on a clock, so a slow or loaded machine only
// makes the test slower, never signals too early. Gives up after a minute (the record then says
// how far the run got).
SignalledRun signal_once_recorded(const std::string& args, const std::string& env,
                                  const std::filesystem::path& record, std::size_t steps,
                                  int signal);

}  // namespace mat::testing

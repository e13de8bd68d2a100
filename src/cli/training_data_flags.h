// The flags that say which training samples a data set gives, shared by `mat train` and
// `mat export-dataset` so that both read the same samples the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "mat/train/samples.h"

namespace mat::cli {

struct TrainingDataSettings {
  std::string data;
  bool drop_error_steps = false;
  bool skip_bad_records = false;
  std::int64_t max_len = 0;
  bool truncate = false;
  std::string system_prompt;    // a file with the exact system prompt of every record
  std::string prompt_template;  // the template file the records were made with
};

// Adds --data (required), --drop-error-steps, --skip-bad-records, --max-len, --truncate,
// --system-prompt and --prompt-template to `cmd`. `s.max_len` is the default shown.
void add_training_data_flags(CLI::App& cmd, TrainingDataSettings& s);

// The options the flags say. Throws core::Error for a prompt file that cannot be read.
train::DataOptions data_options(const TrainingDataSettings& s);

}  // namespace mat::cli

#include "training_data_flags.h"

#include "mat/core/json.h"

namespace mat::cli {

void add_training_data_flags(CLI::App& cmd, TrainingDataSettings& s) {
  cmd.add_option("--data", s.data,
                 "Training data: a .jsonl of trajectory records (mat synth export --format mat) "
                 "or of MAT entries, a .json (a run's trajectory.json, MAT's training list), or a "
                 "folder of runs")
      ->required()
      ->check(CLI::ExistingPath);
  cmd.add_flag("--drop-error-steps", s.drop_error_steps,
               "Leave out the steps that ended in an error (default: keep them; replies the "
               "model's API broke off are always left out)");
  cmd.add_flag("--skip-bad-records", s.skip_bad_records,
               "Skip records that cannot be read (reported with file and line) instead of "
               "stopping at the first");
  cmd.add_option("--max-len", s.max_len,
                 "Most tokens per sample; longer ones are skipped (or truncated). 0: no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--truncate", s.truncate,
               "Cut samples over --max-len after their last whole assistant turn that fits, "
               "instead of skipping them");
  cmd.add_option("--system-prompt", s.system_prompt,
                 "A file with the exact system prompt of every record (default: each record's "
                 "prompt version rendered with its tools)")
      ->check(CLI::ExistingFile);
  cmd.add_option("--prompt-template", s.prompt_template,
                 "The prompt template file that records of a file:NAME@HASH version were made "
                 "with")
      ->check(CLI::ExistingFile);
}

train::DataOptions data_options(const TrainingDataSettings& s) {
  train::DataOptions options;
  options.conversation.drop_error_steps = s.drop_error_steps;
  options.skip_bad_records = s.skip_bad_records;
  options.max_len = s.max_len;
  options.truncate = s.truncate;
  if (!s.system_prompt.empty()) options.system_prompts.fixed = core::read_file(s.system_prompt);
  if (!s.prompt_template.empty()) {
    options.system_prompts.template_file = agent::PromptTemplate::from_file(s.prompt_template);
  }
  return options;
}

}  // namespace mat::cli

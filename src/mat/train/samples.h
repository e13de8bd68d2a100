// Training data end to end: the records of a file or folder (data_records.h) to conversations
// (conversation.h) to samples (sample_encoder.h), with every record that is left out counted and
// reported. What `mat train` reads and `mat export-dataset` writes, so both see the same samples.
//
//   DataOptions options;  options.max_len = 10240;
//   DataReport report;
//   std::vector<Sample> samples = load_samples("trajectories.jsonl", options, encoder, report);
//   std::cerr << report.summary() << "\n";
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mat/train/conversation.h"
#include "mat/train/data_records.h"
#include "mat/train/sample.h"
#include "mat/train/sample_encoder.h"
#include "mat/train/system_prompts.h"

namespace mat::train {

struct DataOptions {
  ConversationOptions conversation;
  SystemPromptOptions system_prompts;
  // Skip records that cannot be read or made into a conversation (listed in the report) instead
  // of failing on the first one.
  bool skip_bad_records = false;
  std::int64_t max_len = 0;  // tokens per sample; 0 = no limit (needs a SampleEncoder)
  bool truncate = false;     // over max_len: cut after the last whole assistant turn that fits
};

struct DataReport {
  std::int64_t records = 0;  // read
  std::int64_t samples = 0;  // kept (truncated ones included)
  std::int64_t truncated = 0;
  std::int64_t skipped_too_long = 0;
  std::int64_t skipped_no_target = 0;
  std::int64_t dropped_error_steps = 0;
  std::int64_t dropped_failed_replies = 0;
  std::vector<DataProblem> skipped_bad;  // with skip_bad_records

  // "12 samples from 14 records: 1 truncated to 10240 tokens, 1 skipped (over ...), ..."
  std::string summary(std::int64_t max_len) const;
};

// Reads `data` and hands every conversation that is kept to `visit`, in order, with its sample
// when `encoder` is given (fitted to max_len; the visitor may move it away), else nullptr. Throws
// core::Error for unreadable data and, unless skip_bad_records, for the first bad record (naming
// its file and line) or missing image (naming the sample and path); and when max_len is set without
// encoder.
DataReport for_each_conversation(const std::filesystem::path& data, const DataOptions& options,
                                 const SampleEncoder* encoder,
                                 const std::function<void(const Conversation&, Sample*)>& visit);

// Every sample of `data` (for_each_conversation with an encoder), the count in `report`.
std::vector<Sample> load_samples(const std::filesystem::path& data, const DataOptions& options,
                                 const SampleEncoder& encoder, DataReport& report);

}  // namespace mat::train

// The records of a training data set, read from a file or a folder:
//   FILE.jsonl   one record per line: mat's trajectory records (what `mat synth export --format
//                mat` writes) or MAT conversation entries (mat_conversation.h)
//   FILE.json    one trajectory record (a run's trajectory.json) or MAT's list of entries
//   DIR          every run folder's trajectory.json below it (what `mat run` and `mat eval`
//                write; a run folder is not searched further: its work/ is the model's) and every
//                *.jsonl file
// Relative paths inside a record are resolved against the folder of the file it came from.
// A record that cannot be read is an error naming the file and line, or, when asked, skipped and
// listed: never dropped silently.
#pragma once

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/train/mat_conversation.h"

namespace mat::train {

struct DataRecord {
  std::variant<agent::Trajectory, MatConversation> content;
  std::filesystem::path dir;  // relative paths in the record are read under it
  std::string origin;         // "FILE:LINE" (JSONL), "FILE" or "FILE[INDEX]" (JSON), for messages
};

// A record that was skipped, and why.
struct DataProblem {
  std::string origin;
  std::string message;
};

struct DataRecords {
  std::vector<DataRecord> records;
  std::vector<DataProblem> skipped;  // only with skip_bad_records
};

// Reads every record of `path` (see above), in file order (folders sorted by path). Throws
// core::Error for a path that cannot be read, a folder without data files, and, unless
// `skip_bad_records`, for the first record that is not JSON or not a valid record, naming its
// file and line.
DataRecords read_data_records(const std::filesystem::path& path, bool skip_bad_records);

}  // namespace mat::train

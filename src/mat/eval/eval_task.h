// A benchmark's tasks as the runner gives them to the agent: the question, the attachments as
// files beside it (MAT passes their paths in the task text and shows images as images), the ground
// truth the record keeps, and why a task cannot run when its attachments are not on disk.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/eval/gaia_dataset.h"
#include "mat/eval/gta_dataset.h"

namespace mat::eval {

struct EvalTask {
  std::string id;                            // the benchmark's key: GTA "0".."228", GAIA task_id
  std::string text;                          // the question as the agent gets it
  std::vector<std::filesystem::path> files;  // the attachments, on the host
  core::Json ground_truth;                   // kept in the record (gt_answer, "Final answer")
  std::optional<std::string> missing;        // attachments not on disk: the task fails with this
};

// One task per query, in the dataset's order; a query whose images are absent carries the message
// of missing_files() (naming the folder to unpack them into).
std::vector<EvalTask> gta_tasks(const GtaDataset& dataset);
std::vector<EvalTask> gaia_tasks(const GaiaDataset& dataset);

// The tasks named in `ids` (in the benchmark's order; empty: all), then the first `limit` of
// those. Throws core::Error listing the ids the benchmark does not have.
std::vector<EvalTask> select_tasks(const std::vector<EvalTask>& tasks,
                                   const std::vector<std::string>& ids,
                                   std::optional<std::size_t> limit);

}  // namespace mat::eval

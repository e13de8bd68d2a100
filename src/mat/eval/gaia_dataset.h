// The GAIA benchmark's metadata.jsonl (the user's own copy: the data is gated and never committed
// here): one question per line with task_id, Question, Level, "Final answer" and file_name, the
// attachments beside the file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/eval/entry_problem.h"

namespace mat::eval {

struct GaiaTask {
  std::string id;  // task_id
  std::string question;
  int level = 0;  // 1, 2 or 3
  std::string final_answer;
  std::string file_name;  // the attachment beside metadata.jsonl; "" when there is none
};

struct GaiaDataset {
  std::filesystem::path dir;    // the folder of metadata.jsonl: attachments are found there
  std::vector<GaiaTask> tasks;  // in the file's order
  // Malformed lines and repeated task ids, left out of `tasks`; the CLI refuses to score with any.
  std::vector<EntryProblem> problems;
};

// Loads `path`: metadata.jsonl itself or the folder that holds it. Throws core::Error when the file
// cannot be read; a malformed line is a problem naming its task_id, or its line number when it has
// none.
GaiaDataset load_gaia(const std::filesystem::path& path);

// The tasks whose attachment is not beside metadata.jsonl, one problem each.
std::vector<EntryProblem> missing_files(const GaiaDataset& dataset);

}  // namespace mat::eval

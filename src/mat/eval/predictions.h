// A model's answers to a benchmark, from either of two sources:
// - a JSONL file of {"id": ..., "answer": ...} lines (an id may be a string or an integer; an
//   answer that is not a string is read as its JSON text, null as "no answer");
// - a folder of trajectory records: every file named trajectory.json below it (what `mat run`
//   writes into each run folder). A record's benchmark id is source.id when the record has one
//   (what a benchmark runner sets), otherwise the record's own id; a record whose source.benchmark
//   names another benchmark is a problem. Its answer is final_answer.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/eval/entry_problem.h"

namespace mat::eval {

struct Prediction {
  std::optional<std::string> answer;  // nullopt: the model gave none (null, a failed run)
  std::string origin;                 // "FILE:LINE" or the record's path, for messages
};

struct Predictions {
  std::map<std::string, Prediction> by_id;
  // Lines or records that could not be read, repeated ids: the CLI refuses to score with any.
  std::vector<EntryProblem> problems;
};

// Loads a JSONL file or a folder of records (see above) for `benchmark` ("gta", "gaia"). Throws
// core::Error when `path` cannot be read; everything wrong inside it is a problem.
Predictions load_predictions(const std::filesystem::path& path, std::string_view benchmark);

// One problem per prediction whose id is not among `ids`: answers to another benchmark, or ids
// written differently from the benchmark's.
std::vector<EntryProblem> unknown_predictions(const Predictions& predictions,
                                              const std::vector<std::string>& ids);

}  // namespace mat::eval

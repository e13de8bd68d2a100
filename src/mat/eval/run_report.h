// The metrics of a benchmark run, from its trajectory records: answer accuracy with the official
// scorers (and MAT's lenient GTA scorer, labelled), ToolAcc, CodeExec, steps, tokens and wall time,
// overall, per group (GTA: tool category and answer kind; GAIA: level), per tool and per task.
// Every metric's definition travels in the report (`metrics[].definition`).
//
// The report is one JSON object that the renderers (report_render.h) and `mat eval compare` read:
//   benchmark, run_dir, data, model, generated_at, tasks (selected), recorded, not_run [ids],
//   metrics [{key, label, unit, definition}],
//   overall {key: {value, numerator, denominator} | {value, total, tasks}},
//   groups [{dimension, name, tasks, values {key: ...}}],
//   tools [...], reference_tools [...] (GTA), end_reasons {...}, scores {the scorer's object},
//   task_rows [{id, ..., record, page}].
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/core/json.h"
#include "mat/eval/gaia_dataset.h"
#include "mat/eval/gta_dataset.h"
#include "mat/llm/embedder.h"

namespace mat::eval {

// How many times each of `tools` is called in `code`: occurrences of the name followed (after
// optional spaces) by '(' and not preceded by a letter, digit, '_' or '.'. A call in a comment or
// string counts too; a call through another name (f = ocr; f(...)) does not.
std::map<std::string, int> tool_calls_in(std::string_view code,
                                         const std::vector<std::string>& tools);

// The MAT tools that do the work of a GTA tool; empty for the tools MAT leaves to plain Python
// (Calculator, Solver, Plot). A name GTA does not have is taken as a mat tool's own name (a
// GTA-format dataset written for mat, e.g. by `mat teacher tasks`): itself.
std::vector<std::string> mat_tools_for(std::string_view gta_tool);

// GTA's category of a tool: "perception", "operation", "logic", "creativity" ("" when unknown).
std::string gta_category(std::string_view gta_tool);

// The records of a run keyed by benchmark id, with where each lies relative to the run folder.
struct RunRecord {
  agent::Trajectory record;
  std::string path;  // the record, relative to the run folder: "tasks/3/trajectory.json"
  std::string page;  // its rendered page, relative to the run folder: "tasks/3/trajectory.html"
};
using RunRecords = std::map<std::string, RunRecord>;

// Reads the record of every task of `ids` that has one in `run_dir` (any end reason).
RunRecords load_run_records(const std::filesystem::path& run_dir, std::string_view benchmark,
                            const std::vector<std::string>& ids);

// The report over the queries of `dataset` (already narrowed to the run's selection). Subjective
// answers are scored through `embedder` when given (throws llm::ModelError when it fails).
core::Json gta_report(const GtaDataset& dataset, const RunRecords& records,
                      llm::Embedder* embedder);
core::Json gaia_report(const GaiaDataset& dataset, const RunRecords& records);

}  // namespace mat::eval

// `mat teacher tasks`: held-out evaluation tasks in GTA's dataset.json format
// (../shared/spec/benchmarks.md), with their files, for `mat eval gta`: each entry's dialog holds
// the reference tool calls (GTA's tool names where GTA has the tool), so that ToolAcc is
// computed, and gt_answer's whitelist holds the answer and its other spellings.
#pragma once

#include <cstdint>
#include <filesystem>

#include "mat/teacher/task.h"

namespace mat::teacher {

// GTA's entry for `task`, its files under `files_dir` (relative to the dataset's folder).
core::Json gta_entry(const Task& task, const std::string& files_dir);

// Draws `count` distinct tasks of `phrasings` with `seed`, writes their files under
// `out`/files/ and `out`/dataset.json. Returns the tasks.
std::vector<Task> write_gta_tasks(const std::filesystem::path& out, std::uint64_t seed, int count,
                                  Phrasings phrasings);

}  // namespace mat::teacher

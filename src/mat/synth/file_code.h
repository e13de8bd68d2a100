// The file_code stage: for each non-image file a task needs, the teacher writes a Python script
// (one ```py block) that creates it in the current directory; the script runs in the agent's
// sandbox (sandbox/sandbox.h: no network, only its own folder writable, limits, a timeout), never
// in the pipeline's process, in RUN/tasks/<task>/make/. The file it leaves must be a regular file
// of the declared type (file_checks.h); it is then copied to the task's files. A script that
// fails, tries to get out, hangs or writes the wrong thing fails the task with the reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mat/synth/file_stages.h"

namespace mat::synth {

// The code of the one ```py (or ```python) block in `reply`, or the problem to tell the teacher.
struct ExtractedCode {
  std::optional<std::string> code;
  std::string error;
};
ExtractedCode extract_code(std::string_view reply);

// Throws core::Error when the sandbox cannot start at all (isolation unavailable), and
// core::Interrupted on an interrupt request: neither says anything about the task.
StageResult run_file_code(const FileStageContext& context, const TaskRow& row);

}  // namespace mat::synth

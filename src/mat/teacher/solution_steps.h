// The steps the families' canonical solutions share, written once so that every family teaches
// the controller the same idiom for the same tool.
#pragma once

#include <string>

#include "mat/teacher/task.h"

namespace mat::teacher {

// How the solutions name the task's file: by the agent's list of attached files rather than by
// copying its name (mat's agent defines `attached_files` for every run's code).
inline constexpr const char* kTaskFile = "attached_files[0]";

// Reads the task's file with ocr into `result` and prints its text.
SolutionStep ocr_step(const std::string& what);

// Reads the task's document with inspect_file_as_text into `text` and prints it.
SolutionStep inspect_step(const std::string& what);
// Finds the faces of the task's file into `faces` and prints how many there are.
SolutionStep face_step();

// A last step: `lines` (which set `answer`), then prints it and gives it as the final answer.
SolutionStep answer_step(const std::string& thought, const std::string& lines);

// The same step with its final answer made wrong on purpose (fault injection), or the step
// unchanged when it gives no final answer.
SolutionStep with_wrong_answer(SolutionStep step);

}  // namespace mat::teacher

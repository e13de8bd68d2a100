// The teacher's two verifiers, rule-based: they judge only what the request shows them (the
// inspector's markdown of the files; the steps' code and the final answer) against what the task
// needs, never whether a fault was injected.
#pragma once

#include <string>

#include "mat/teacher/task.h"

namespace mat::teacher {

struct Verdict {
  bool yes = false;
  std::string reason;
};

// The files verifier, on the verify_files request's text: every file of the task is shown, and
// each document's markdown holds what the query asks about.
Verdict judge_files(const Task& task, const std::string& request_text);

// The trajectory verifier: the steps call the family's tools, and the final answer ("(none)"
// when the run gave none) is the task's answer.
Verdict judge_trajectory(const Task& task, const std::string& steps,
                         const std::string& final_answer);

}  // namespace mat::teacher

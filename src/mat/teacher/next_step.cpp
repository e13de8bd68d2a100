#include "mat/teacher/next_step.h"

#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

bool is_error(const TextMessage& observation) {
  const auto header_end = observation.text.find("] ");
  return header_end != std::string::npos &&
         observation.text.compare(header_end + 2, 6, "Error:") == 0;
}

// The line of an error turn that says what went wrong: the last line of the error itself (a
// traceback's "KeyError: 'Nuts'", not its "Traceback (most recent call last):"), before the
// output printed ahead of it and the agent's advice.
std::string error_summary(const std::string& observation) {
  const auto start = observation.find("Error:");
  std::string error = observation.substr(start == std::string::npos ? 0 : start + 7);
  error = error.substr(0, error.find("\nOutput printed before the error:"));
  error = error.substr(0, error.find("\nRead the error, fix the cause"));
  while (!error.empty() && error.back() == '\n') error.pop_back();
  std::string line = error.substr(error.rfind('\n') + 1);  // npos + 1 == 0: a one-line error
  return line.size() > 160 ? line.substr(0, 160) + "..." : line;
}

}  // namespace

agent::ParsedStep next_step(const Task& task, const std::vector<TextMessage>& messages,
                            bool wrong_answer) {
  // Steps that worked, and the failures in a row at the end.
  size_t done = 0;
  int failures = 0;
  std::string last_error;
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    if (messages[i].role != "assistant" || messages[i + 1].role != "user") continue;
    if (is_error(messages[i + 1])) {
      ++failures;
      last_error = error_summary(messages[i + 1].text);
    } else {
      ++done;
      failures = 0;
    }
  }
  const size_t last = task.solution.size() - 1;
  if (failures >= 2) {
    return {"The step failed again (" + last_error +
                "). I cannot get the answer this way, so I report the problem.",
            "final_answer(answer=" + core::Json("could not solve the task: " + last_error).dump() +
                ")"};
  }
  const size_t index = std::min(done, last);
  SolutionStep step = task.solution[index];
  if (failures == 1) {
    // Everything up to this step again, in one step: the failure may have cost the variables.
    std::string code;
    for (size_t i = 0; i <= index; ++i) code += (code.empty() ? "" : "\n") + task.solution[i].code;
    step = {"The last step failed (" + last_error +
                "). I will redo the work from the start in "
                "one step.",
            code};
  }
  if (wrong_answer && index == last) step = with_wrong_answer(step);
  return {step.thought, step.code};
}

}  // namespace mat::teacher

#include "mat/teacher/verdicts.h"

#include "mat/teacher/stage_replies.h"

namespace mat::teacher {
namespace {

// The part of the request that shows file `name`: from "File NAME:" to the next file.
std::string shown_part(const std::string& text, const std::string& name) {
  const std::string header = "\nFile " + name + ":";
  const auto at = text.find(header);
  if (at == std::string::npos) return {};
  const auto next = text.find("\nFile ", at + header.size());
  return text.substr(at, next == std::string::npos ? std::string::npos : next - at);
}

bool calls(const std::string& code, const std::string& tool) {
  for (auto at = code.find(tool + "("); at != std::string::npos;
       at = code.find(tool + "(", at + 1)) {
    const char before = at == 0 ? ' ' : code[at - 1];
    if (std::isalnum(static_cast<unsigned char>(before)) == 0 && before != '_' && before != '.') {
      return true;
    }
  }
  return false;
}

}  // namespace

Verdict judge_files(const Task& task, const std::string& request_text) {
  for (const TaskFile& file : task.files) {
    const std::string shown = shown_part(request_text, file.name);
    if (shown.empty())
      return {false, "the task needs " + file.name + ", and it is not among the files"};
    if (shown.find("cannot be shown") != std::string::npos) {
      return {false, file.name + " cannot be read: " + shown.substr(0, 200)};
    }
    for (const std::string& needed : file.evidence) {
      if (shown.find(needed) == std::string::npos) {
        return {false, file.name + " does not hold \"" + needed +
                           "\", which the query asks about: the file does not fit the query"};
      }
    }
  }
  return {true, "the files are all there, and they hold what the query asks about"};
}

Verdict judge_trajectory(const Task& task, const std::string& steps,
                         const std::string& final_answer) {
  if (final_answer == "(none)" || final_answer.empty()) {
    return {false, "the run gave no final answer"};
  }
  for (const std::string& tool : task.tools) {
    if (!calls(steps, tool)) {
      return {false, "the steps never call " + tool + ", which this task needs"};
    }
  }
  if (!answer_matches(final_answer, task)) {
    return {false, "the final answer " + final_answer + " disagrees with what the files give (" +
                       task.answer + ")"};
  }
  std::string tools;
  for (const std::string& tool : task.tools) tools += (tools.empty() ? "" : ", ") + tool;
  return {true,
          (tools.empty() ? std::string("the code reads the file") : "the steps call " + tools) +
              ", and the final answer " + final_answer + " agrees with the files"};
}

}  // namespace mat::teacher

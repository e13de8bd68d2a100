// A task of the offline teacher: the query, the files it needs, the known answer and the
// canonical solution (the steps mat's agent should write), all rebuilt from (seed, family, number).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/teacher/pool.h"

namespace mat::teacher {

// Which phrasings a task may use: those meant for training, those held out for evaluation.
enum class Phrasings { kTrain, kHeldout, kAll };
// "train", "heldout" or "all"; throws core::Error otherwise.
Phrasings parse_phrasings(const std::string& text);

struct TaskFile {
  std::string type;     // "image", "csv", "xlsx", "docx", "pdf", "txt"
  std::string name;     // in the task's folder
  std::string content;  // an image's pool caption; a document's text as the teacher describes it
  std::optional<PoolImage> image;  // what an image shows
  std::string code;                // a document: Python that writes it in the current directory
  std::string bad_code;            // the same, writing a version inconsistent with the query
  // A document: text that the inspector's markdown of a consistent file holds (what the
  // query asks about), checked by the files verifier.
  std::vector<std::string> evidence;
};

struct SolutionStep {
  std::string thought;
  std::string code;
};

// One call of the reference solution, in GTA's terms (its tool name when it has one).
struct ReferenceCall {
  std::string tool;  // "OCR", "CountGivenObject", "DrawBox", or mat's own tool name
  core::Json arguments;
};

struct Task {
  std::string family;
  int number = 0;        // carried by the file name: how the teacher recognises the task
  int phrasing = 0;      // index into the family's phrasings
  bool heldout = false;  // a held-out phrasing
  std::string query;
  std::vector<std::string> tools;  // mat's tool names the solution calls
  std::vector<TaskFile> files;
  std::string answer;                  // as final_answer(...) prints it
  std::vector<std::string> aliases;    // other spellings of the same answer
  std::vector<SolutionStep> solution;  // the last step calls final_answer(answer=answer)
  std::vector<ReferenceCall> reference_calls;
};

// `answer` written as the last step's final_answer would give it when the run was made wrong
// on purpose (fault injection): the answer variable plus one.
inline constexpr const char* kWrongFinalAnswer = "final_answer(answer=answer + 1)";
inline constexpr const char* kFinalAnswer = "final_answer(answer=answer)";

}  // namespace mat::teacher

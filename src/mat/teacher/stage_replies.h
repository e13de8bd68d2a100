// The offline teacher's answers to `mat synth`'s stages (the X-Mat-Stage contract of issue 11),
// computed from the request alone: the task is found by the file name its query quotes, rebuilt
// from the seed, and every reply follows from it. Nothing is remembered between requests.
//
//   ProceduralTeacher teacher({.seed = 7, .wrong_answer_rate = 0.1});
//   std::string reply = teacher.reply("trajectory", messages);   // the next solution step
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/error.h"
#include "mat/teacher/task.h"

namespace mat::teacher {

struct TeacherOptions {
  std::uint64_t seed = 0;
  double wrong_answer_rate = 0;  // share of tasks whose trajectory ends with a wrong answer
  double bad_file_rate = 0;      // share of tasks whose documents are written inconsistent
  Phrasings phrasings = Phrasings::kTrain;
};

// A chat message as the teacher reads it: its role and its text parts joined (images ignored).
struct TextMessage {
  std::string role;
  std::string text;
};

// A request the teacher cannot answer (an unknown stage, no task named in it): HTTP 400.
class BadRequest : public core::Error {
 public:
  using core::Error::Error;
};

class ProceduralTeacher {
 public:
  explicit ProceduralTeacher(TeacherOptions options) : options_(options) {}

  // The reply to a request of `stage`. `request_seed` (the request's "seed") varies the
  // queries drawn from one batch to the next. Throws BadRequest.
  std::string reply(const std::string& stage, const std::vector<TextMessage>& messages,
                    std::optional<std::int64_t> request_seed = std::nullopt) const;

  // Whether `task` gets the faults (decided from a hash of its query).
  bool gets_bad_files(const Task& task) const;
  bool gets_wrong_answer(const Task& task) const;

  const TeacherOptions& options() const { return options_; }

 private:
  std::string queries(const std::vector<TextMessage>& messages,
                      std::optional<std::int64_t> request_seed) const;
  std::string file_contents(const std::string& text) const;
  std::string file_code(const std::string& text) const;
  std::string verify_files(const std::string& text) const;
  std::string trajectory(const std::vector<TextMessage>& messages) const;
  std::string verify_trajectory(const std::string& text) const;
  Task task_in(const std::string& text, const std::string& stage) const;

  TeacherOptions options_;
};

// Does `given` (a final answer as the trajectory shows it) state `task`'s answer? Numbers
// compare as numbers, text without case or surrounding quotes.
bool answer_matches(const std::string& given, const Task& task);

}  // namespace mat::teacher

// Makes a task's files on disk, as the synthesis pipeline would get them: images rendered from
// the pool's recipe, documents by running the teacher's own file_code script in the agent's
// sandbox (the same script the file_code stage answers, so evaluation files and synthesized ones
// come from one generator).
#pragma once

#include <filesystem>
#include <memory>

#include "mat/core/temp_dir.h"
#include "mat/sandbox/sandbox.h"
#include "mat/teacher/task.h"

namespace mat::teacher {

class TaskFileWriter {
 public:
  TaskFileWriter();  // starts a sandbox; throws core::Error when it cannot
  ~TaskFileWriter();
  TaskFileWriter(const TaskFileWriter&) = delete;
  TaskFileWriter& operator=(const TaskFileWriter&) = delete;

  // Writes every file of `task` into `dir` under its name (`bad`: the documents' inconsistent
  // versions). Throws core::Error, with the script's error, when a file cannot be made.
  void write(const Task& task, const std::filesystem::path& dir, bool bad = false);

 private:
  core::TempDir scratch_;
  std::unique_ptr<sandbox::Sandbox> box_;
};

}  // namespace mat::teacher

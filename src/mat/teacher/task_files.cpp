#include "mat/teacher/task_files.h"

#include <fstream>

#include "mat/core/confined_dir.h"
#include "mat/core/error.h"

namespace mat::teacher {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFileBytes = size_t{16} << 20;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw core::Error("cannot write " + path.string());
}

}  // namespace

TaskFileWriter::TaskFileWriter() : scratch_("mat-teacher-files") {
  sandbox::Options options;
  options.work_dir = scratch_.path();
  options.limits.step_wall = std::chrono::seconds(60);
  box_ = std::make_unique<sandbox::Sandbox>(options, sandbox::ToolHandler{});
}

TaskFileWriter::~TaskFileWriter() = default;

void TaskFileWriter::write(const Task& task, const fs::path& dir, bool bad) {
  fs::create_directories(dir);
  for (const TaskFile& file : task.files) {
    if (file.image) {
      render_pool_image(*file.image, dir / file.name);
      continue;
    }
    const sandbox::ExecResult run = box_->execute(bad ? file.bad_code : file.code);
    if (run.error || run.timed_out) {
      throw core::Error("the teacher's script for " + file.name + " failed: " +
                        run.error.value_or("it ran past its time limit") + "\n" + run.output);
    }
    write_bytes(dir / file.name,
                core::ConfinedDir(scratch_.path()).read_regular(file.name, kMaxFileBytes));
  }
}

}  // namespace mat::teacher

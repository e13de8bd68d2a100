// Every family of the offline teacher makes solvable tasks: the files are made as the pipeline
// makes them (pool images rendered, documents written by the teacher's script in the sandbox),
// the canonical solution runs step by step through the real agent loop, sandbox and tools, and
// reaches the known answer. The verifiers accept those runs and files, and reject a wrong final
// answer and an inconsistent file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/agent/agent.h"
#include "mat/core/temp_dir.h"
#include "mat/synth/file_stages.h"
#include "mat/teacher/stage_replies.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/task_files.h"
#include "mat/teacher/teacher_chat_model.h"
#include "mat/teacher/verdicts.h"
#include "mat/tools/registry.h"

namespace mat::teacher {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::uint64_t kSeed = 11;

class TeacherFamilies : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    writer_ = new TaskFileWriter();
    registry_ = new tools::ToolRegistry(tools::builtin_registry());
  }
  static void TearDownTestSuite() {
    delete writer_;
    delete registry_;
  }

  std::vector<fs::path> make_files(const Task& task, const std::string& folder, bool bad = false) {
    const fs::path dir = dir_.path() / folder;
    writer_->write(task, dir, bad);
    std::vector<fs::path> paths;
    for (const TaskFile& file : task.files) paths.push_back(dir / file.name);
    return paths;
  }

  agent::Trajectory solve(const Task& task, bool wrong_answer = false) {
    const ProceduralTeacher teacher({.seed = kSeed, .wrong_answer_rate = wrong_answer ? 1.0 : 0.0});
    const auto model = teacher_chat_model(teacher, "trajectory");
    agent::AgentOptions options;
    options.max_steps = 5;
    agent::Agent agent(*model, *registry_, agent::PromptTemplate::builtin(), options);
    const std::string folder = task.family + "-" + std::to_string(task.number);
    return agent.run({.id = folder, .text = task.query, .files = make_files(task, folder)},
                     agent::RunPaths::under(dir_.path() / (folder + "-run")));
  }

  static std::string steps_code(const agent::Trajectory& record) {
    std::string code;
    for (const agent::Step& step : record.steps) code += step.code + "\n";
    return code;
  }

  // What the pipeline's files verifier is shown: each file, documents as the inspector's markdown.
  static std::string shown(const std::vector<fs::path>& files) {
    std::string text;
    for (const llm::ContentPart& part : synth::shown_files(files)) text += part.text;
    return text;
  }

  core::TempDir dir_{"teacher-families"};
  static TaskFileWriter* writer_;
  static tools::ToolRegistry* registry_;
};

TaskFileWriter* TeacherFamilies::writer_ = nullptr;
tools::ToolRegistry* TeacherFamilies::registry_ = nullptr;

TEST_F(TeacherFamilies, CanonicalSolutionsReachTheKnownAnswer) {
  for (const auto& family : families()) {
    for (const int number : {101, 2024}) {
      const Task task = make_task(*family, kSeed, number);
      const agent::Trajectory record = solve(task);
      ASSERT_TRUE(record.succeeded())
          << task.query << ": " << record.end_reason << " " << record.error.value_or("") << "\n"
          << record.to_json().dump(2);
      EXPECT_EQ(record.steps.size(), task.solution.size()) << task.query;
      EXPECT_TRUE(answer_matches(*record.final_answer, task))
          << task.query << ": answered " << *record.final_answer << ", known " << task.answer
          << "\n"
          << record.to_json().dump(2);
      const Verdict verdict = judge_trajectory(task, steps_code(record), *record.final_answer);
      EXPECT_TRUE(verdict.yes) << task.query << ": " << verdict.reason;
    }
  }
}

TEST_F(TeacherFamilies, FaceCollagesShowTheirCountOfFaces) {
  const tools::Tool* detector = registry_->find("facedetection");
  ASSERT_NE(detector, nullptr);
  for (int index = 0; index < 5; ++index) {  // counts 0..4
    const PoolImage image = pool_image(kSeed, pool_kind::kFaces, index);
    const fs::path dir = dir_.path() / "faces";
    fs::create_directories(dir);
    render_pool_image(image, dir / image.file);
    const core::Json faces =
        registry_->call("facedetection", {{"image_path", image.file}}, {.work_dir = dir});
    EXPECT_EQ(faces.size(), static_cast<size_t>(image.values.at(0))) << image.caption;
  }
}

TEST_F(TeacherFamilies, WrongFinalAnswerIsRejected) {
  const Task task = make_task(family_named("event_days"), kSeed, 7);
  const agent::Trajectory record = solve(task, true);
  ASSERT_TRUE(record.succeeded()) << record.error.value_or("");
  EXPECT_FALSE(answer_matches(*record.final_answer, task));
  const Verdict verdict = judge_trajectory(task, steps_code(record), *record.final_answer);
  EXPECT_FALSE(verdict.yes);
  EXPECT_THAT(verdict.reason, HasSubstr("disagrees"));
}

TEST_F(TeacherFamilies, InconsistentFilesAreRejectedAndConsistentOnesAccepted) {
  for (const char* name : {"table_sum", "document_difference"}) {
    for (const int number : {5, 6, 7}) {
      const Task task = make_task(family_named(name), kSeed, number);
      const std::string folder = std::string(name) + std::to_string(number);
      const Verdict good = judge_files(task, shown(make_files(task, folder + "-good")));
      EXPECT_TRUE(good.yes) << task.query << ": " << good.reason;
      const Verdict bad = judge_files(task, shown(make_files(task, folder + "-bad", true)));
      EXPECT_FALSE(bad.yes) << task.query;
      EXPECT_THAT(bad.reason, HasSubstr("does not hold"));
    }
  }
  const Task image_task = make_task(family_named("receipt_total"), kSeed, 3);
  EXPECT_FALSE(judge_files(image_task, "\nFile other.png:\n").yes);
}

}  // namespace
}  // namespace mat::teacher

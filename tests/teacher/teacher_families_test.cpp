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
#include "mat/teacher/landmarks.h"
#include "mat/teacher/stage_replies.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/task_files.h"
#include "mat/teacher/teacher_chat_model.h"
#include "mat/teacher/verdicts.h"
#include "mat/tools/registry.h"
#include "mat/tools/search_corpus.h"

namespace mat::teacher {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::uint64_t kSeed = 11;

class TeacherFamilies : public ::testing::Test {
 protected:
  // The landmark corpus indexed as the loop indexes it, and web_search configured with it as a
  // user configures it.
  static void SetUpTestSuite() {
    corpus_ = new core::TempDir("teacher-corpus");
    write_landmark_documents(corpus_->path() / "docs");
    tools::build_corpus(corpus_->path() / "docs", corpus_->path() / "search.db");
    setenv("MAT_SEARCH_DB", (corpus_->path() / "search.db").c_str(), 1);
    writer_ = new TaskFileWriter();
    registry_ = new tools::ToolRegistry(tools::builtin_registry());
  }
  static void TearDownTestSuite() {
    delete writer_;
    delete registry_;
    delete corpus_;
    unsetenv("MAT_SEARCH_DB");
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
  static core::TempDir* corpus_;
  static TaskFileWriter* writer_;
  static tools::ToolRegistry* registry_;
};

core::TempDir* TeacherFamilies::corpus_ = nullptr;
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

TEST_F(TeacherFamilies, EveryLandmarkIsTheBestResultForANoteThatNamesIt) {
  ASSERT_EQ(landmarks().size(), 64u);
  for (const Landmark& landmark : landmarks()) {
    // A note as the inspector shows a pdf one: the search sends all of it.
    const core::Json results = registry_->call(
        "web_search",
        {{"query", "## Page 1\n\nMeet the group at " + landmark.name}, {"max_results", 3}},
        {.work_dir = corpus_->path()});
    ASSERT_FALSE(results.empty()) << landmark.name;
    EXPECT_EQ(results[0]["title"], landmark.name);
    EXPECT_THAT(results[0]["snippet"].get<std::string>(),
                HasSubstr("built in " + std::to_string(landmark.year)));
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
  for (const char* name : {"table_sum", "document_difference", "landmark_year"}) {
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

// The offline teacher's parts without the sandbox: tasks rebuilt from their file names, the
// phrasing sets, the embedding, and the shape of every stage's reply as `mat synth` checks it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "mat/llm/embedder.h"
#include "mat/synth/file_stages.h"
#include "mat/synth/queries.h"
#include "mat/synth/teacher.h"
#include "mat/teacher/next_step.h"
#include "mat/teacher/stage_replies.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/text_embedding.h"
#include "mat/teacher/verdicts.h"

namespace mat::teacher {
namespace {

using core::Json;
using ::testing::HasSubstr;

std::vector<Task> drawn(std::uint64_t seed, Phrasings phrasings, int count) {
  Rng rng(seed);
  std::vector<Task> tasks;
  for (int i = 0; i < count; ++i) tasks.push_back(draw_task(seed, rng, phrasings));
  return tasks;
}

TEST(TeacherTasks, AreRebuiltFromTheFileNameTheirQueryQuotes) {
  for (const Task& task : drawn(7, Phrasings::kAll, 60)) {
    const std::optional<Task> found = find_task("Task: " + task.query + "\n", 7);
    ASSERT_TRUE(found) << task.query;
    EXPECT_EQ(found->query, task.query);
    EXPECT_EQ(found->answer, task.answer);
    EXPECT_EQ(found->family, task.family);
  }
  EXPECT_FALSE(find_task("How many words are on the sign in sign.jpg?", 7));
}

TEST(TeacherTasks, EveryFamilyHasFourTrainPhrasingsAndAHeldOutOne) {
  ASSERT_GE(families().size(), 5U);
  for (const auto& family : families()) {
    EXPECT_GE(family->phrasings().size() - family->heldout_phrasings(), 4U) << family->name();
    EXPECT_GE(family->heldout_phrasings(), 1) << family->name();
  }
}

TEST(TeacherTasks, HeldOutPhrasingsNeverComeWithTrain) {
  std::set<std::string> families_seen;
  for (const Task& task : drawn(3, Phrasings::kTrain, 400)) {
    EXPECT_FALSE(task.heldout) << task.query;
    families_seen.insert(task.family);
  }
  EXPECT_EQ(families_seen.size(), families().size());
  for (const Task& task : drawn(3, Phrasings::kHeldout, 100)) EXPECT_TRUE(task.heldout);
  // The teacher's queries stage draws from train phrasings only when told so.
  const ProceduralTeacher teacher({.seed = 3, .phrasings = Phrasings::kTrain});
  for (int batch = 0; batch < 20; ++batch) {
    const Json reply =
        Json::parse(teacher.reply("queries", {{"user", "Write 10 new user queries."}}, batch));
    for (const Json& query : reply["queries"]) {
      const std::optional<Task> task = find_task(query["query"].get<std::string>(), 3);
      ASSERT_TRUE(task);
      EXPECT_FALSE(task->heldout) << task->query;
    }
  }
}

TEST(TeacherTasks, WrongPhrasingSetIsRefused) {
  EXPECT_THROW(parse_phrasings("test"), core::Error);
  EXPECT_EQ(parse_phrasings("heldout"), Phrasings::kHeldout);
}

TEST(TeacherEmbedding, MatchesExactTextsAndKeepsOneFamilysQueriesApart) {
  const std::vector<float> a = embed_text("A poster announcing the Book Week, poster number 3.");
  EXPECT_NEAR(
      llm::cosine_similarity(a, embed_text("A poster announcing the Book Week, poster number 3.")),
      1.0, 1e-6);
  EXPECT_EQ(a.size(), static_cast<size_t>(kEmbeddingDim));
  // Tasks of one family and phrasing differ in their file and numbers: no near-duplicates for
  // synth's default cosine of 0.9.
  const Task first = make_task(family_named("receipt_total"), 1, 1);
  for (int number = 2; number < 200; ++number) {
    const Task other = make_task(family_named("receipt_total"), 1, number);
    if (other.phrasing != first.phrasing) continue;
    EXPECT_LT(llm::cosine_similarity(embed_text(first.query), embed_text(other.query)), 0.9)
        << first.query << " / " << other.query;
  }
}

TEST(TeacherStages, RepliesHaveTheShapesSynthChecks) {
  const ProceduralTeacher teacher({.seed = 5});
  const Json queries =
      Json::parse(teacher.reply("queries", {{"user", "Write 6 new user queries."}}, 1));
  EXPECT_EQ(synth::check_queries(queries), std::nullopt);
  ASSERT_EQ(queries["queries"].size(), 6U);
  for (const synth::QuerySpec& spec : synth::queries_from(queries)) {
    const Json files = Json::parse(teacher.reply(
        "file_contents", {{"user", "The user's query:\n" + spec.query + "\n\nThe kinds..."}}));
    EXPECT_EQ(synth::check_file_contents(files, spec), std::nullopt) << files.dump();
  }
  const Task task = make_task(family_named("table_sum"), 5, 42);
  const std::string code = teacher.reply(
      "file_code", {{"user", "The task's query, for context:\n" + task.query +
                                 "\n\nThe file to create, in the current directory, under "
                                 "exactly this name: " +
                                 task.files[0].name + "\nIts type: csv\n"}});
  EXPECT_THAT(code, HasSubstr("```py\n"));
  EXPECT_THAT(code, HasSubstr(task.files[0].name));
  const Json verdict = Json::parse(teacher.reply(
      "verify_files", {{"user", "The user's query:\n" + task.query + "\n\nThe files..."}}));
  EXPECT_EQ(synth::check_verdict(verdict, true), std::nullopt);
  EXPECT_EQ(verdict["verdict"], "no");  // nothing shown
}

TEST(TeacherStages, UnknownStagesAndStrangersAreBadRequests) {
  const ProceduralTeacher teacher({.seed = 5});
  EXPECT_THROW(teacher.reply("summarise", {{"user", "hello"}}), BadRequest);
  EXPECT_THROW(teacher.reply("", {{"user", "hello"}}), BadRequest);
  try {
    teacher.reply("file_contents", {{"user", "The user's query:\nWhat is 2+2?\n\n"}});
    FAIL() << "no task in the request, and no error";
  } catch (const BadRequest& e) {
    EXPECT_THAT(e.what(), HasSubstr("quotes no file name"));
  }
}

TEST(TeacherTrajectory, RedoesAFailedStepThenReportsASecondFailure) {
  const Task task = make_task(family_named("receipt_total"), 9, 12);
  std::vector<TextMessage> messages{{"system", "..."}, {"user", "Task: " + task.query}};
  const agent::ParsedStep first = next_step(task, messages, false);
  EXPECT_EQ(first.code, task.solution[0].code);
  messages.push_back({"assistant", "..."});
  messages.push_back({"user", "[OUTPUT OF STEP 0] Observation:\nCorner Market\napples 2.40"});
  const agent::ParsedStep second = next_step(task, messages, false);
  EXPECT_EQ(second.code, task.solution[1].code);
  EXPECT_THAT(second.code, HasSubstr("final_answer(answer=answer)"));
  EXPECT_THAT(next_step(task, messages, true).code, HasSubstr("final_answer(answer=answer + 1)"));
  messages.push_back({"assistant", "..."});
  messages.push_back({"user", "[OUTPUT OF STEP 1] Error: NameError: name 'result' is not defined"});
  const agent::ParsedStep redo = next_step(task, messages, false);
  EXPECT_THAT(redo.thought, HasSubstr("NameError"));
  EXPECT_EQ(redo.code, task.solution[0].code + "\n" + task.solution[1].code);
  messages.push_back({"assistant", "..."});
  messages.push_back({"user",
                      "[OUTPUT OF STEP 2] Error: Traceback (most recent call last):\n  File "
                      "\"<step 2>\", line 3, in <module>\nKeyError: 'Nuts'\nOutput printed before "
                      "the error:\n12\nRead the error, fix the cause and try again."});
  const agent::ParsedStep report = next_step(task, messages, false);
  EXPECT_THAT(report.code, HasSubstr("final_answer(answer=\"could not solve the task: KeyError: "
                                     "'Nuts'\")"));
}

TEST(TeacherVerdicts, TrajectoryNeedsTheToolsAndTheAnswer) {
  const Task task = make_task(family_named("face_boxes"), 2, 77);
  const std::string steps = "faces = facedetection(image_path=\"x\")\nmarked = draw_box(...)";
  EXPECT_TRUE(judge_trajectory(task, steps, task.answer).yes);
  const Verdict wrong = judge_trajectory(task, steps, task.answer + "1");
  EXPECT_FALSE(wrong.yes);
  EXPECT_THAT(wrong.reason, HasSubstr("disagrees"));
  const Verdict no_tool =
      judge_trajectory(task, "faces = facedetection(image_path=\"x\")", task.answer);
  EXPECT_FALSE(no_tool.yes);
  EXPECT_THAT(no_tool.reason, HasSubstr("draw_box"));
  EXPECT_FALSE(judge_trajectory(task, steps, "(none)").yes);
}

TEST(TeacherVerdicts, AnswersCompareAsNumbers) {
  Task task;
  task.answer = "14.8";
  task.aliases = {"14.80"};
  EXPECT_TRUE(answer_matches("14.80", task));
  EXPECT_TRUE(answer_matches("$14.8", task));
  EXPECT_TRUE(answer_matches("\"14.8\"", task));
  EXPECT_FALSE(answer_matches("14.9", task));
  EXPECT_EQ(python_money(1480), "14.8");
  EXPECT_EQ(python_money(1479), "14.79");
  EXPECT_EQ(python_money(1400), "14.0");
  EXPECT_EQ(python_money(1405), "14.05");
}

}  // namespace
}  // namespace mat::teacher

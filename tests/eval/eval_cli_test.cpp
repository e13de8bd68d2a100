// `mat eval score` as a user runs it: the JSON object and the table, and exit codes 0 (scored),
// 1 (the scoring itself failed) and 2 (bad usage, missing or broken files).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/fake_openai_server.h"
#include "support/mat_process.h"

namespace mat {
namespace {

using ::testing::HasSubstr;
using testing::MatOutcome;
using ::testing::Not;
using testing::run_mat;

const std::string kGta = MAT_GTA_DATASET;

// One line per GTA query: the first alias of every whitelist group ("" for the others).
std::filesystem::path oracle_predictions(const core::TempDir& dir) {
  const std::filesystem::path path = dir.path() / "oracle.jsonl";
  std::ofstream out(path);
  const core::Json dataset = core::read_json_file(kGta);
  for (const auto& [id, entry] : dataset.items()) {
    std::string answer;
    if (entry["gt_answer"].is_object()) {
      for (const core::Json& group : entry["gt_answer"]["whitelist"]) {
        answer += (answer.empty() ? "" : " and ") + group[0].get<std::string>();
      }
    }
    out << core::Json{{"id", id}, {"answer", answer}}.dump() << "\n";
  }
  return path;
}

// Runs mat with stdout alone in `stdout_text` (the output also holds stderr).
MatOutcome run_split(const core::TempDir& dir, const std::string& args, std::string& stdout_text,
                     const std::string& env = "") {
  const std::filesystem::path file = dir.path() / "stdout.txt";
  MatOutcome outcome = run_mat(args + " >" + file.string(), env);
  stdout_text = core::read_file(file);
  return outcome;
}

TEST(EvalScore, GtaJsonIsOneObjectWithBothObjectiveAccuracies) {
  core::TempDir dir;
  std::string out;
  const MatOutcome o = run_split(
      dir,
      "eval score gta --json --data " + kGta + " --predictions " + oracle_predictions(dir).string(),
      out);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const core::Json scores = core::Json::parse(out);
  EXPECT_EQ(scores["objective_acc_mat"], 100.0);
  EXPECT_NEAR(scores["objective_acc_official"].get<double>(), 100.0 * 145 / 156, 1e-9);
  EXPECT_EQ(scores["objective_total"], 156);
  EXPECT_EQ(scores["objective_correct_official"], 145);
  EXPECT_TRUE(scores["answer_acc"].is_null());  // no embedding model: subjective unscored
  EXPECT_EQ(scores["missing_predictions"].size(), 0u);
}

TEST(EvalScore, GtaTableLabelsEveryScorerAndWhatIsNotScored) {
  core::TempDir dir;
  std::ofstream(dir.path() / "few.jsonl") << "{\"id\": \"0\", \"answer\": \"\"}\n";
  std::string out;
  const MatOutcome o = run_split(
      dir,
      "eval score gta --data " + kGta + " --predictions " + (dir.path() / "few.jsonl").string(),
      out);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_THAT(out, HasSubstr("objective, official (word boundaries)"));
  EXPECT_THAT(out, HasSubstr("objective, MAT-style (substring, no blacklist)"));
  EXPECT_THAT(out, HasSubstr("subjective: not scored (16 queries)"));
  EXPECT_THAT(out, HasSubstr("image generation: not scored (57 queries)"));
  EXPECT_THAT(out, HasSubstr("official scorer quirk: 11"));
  EXPECT_THAT(out, HasSubstr("missing predictions, scored as wrong: 228"));
}

TEST(EvalScore, GtaSubjectiveThroughAnEmbeddingsServer) {
  core::TempDir dir;
  core::Json root = core::read_json_file(kGta);
  core::write_json_file(dir.path() / "dataset.json", {{"8", root["8"]}, {"0", root["0"]}});
  std::ofstream(dir.path() / "p.jsonl") << "{\"id\": \"8\", \"answer\": \"Do not swim.\"}\n"
                                        << "{\"id\": 0, \"answer\": \"nothing\"}\n";
  testing::FakeOpenAIServer server;
  testing::ScriptedReply reply;
  reply.raw_body =
      R"({"data": [{"index": 0, "embedding": [1, 0]}, {"index": 1, "embedding": [1, 0]},
                                {"index": 2, "embedding": [0, 1]}, {"index": 3, "embedding": [0, 1]}]})";
  server.enqueue(reply);
  std::string out;
  const std::string args = "eval score gta --json --data " + dir.path().string() +
                           " --predictions " + (dir.path() / "p.jsonl").string() +
                           " --embedding-model mpnet --embedding-url " + server.base_url();
  MatOutcome o = run_split(dir, args, out);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const core::Json scores = core::Json::parse(out);
  EXPECT_EQ(scores["subjective"]["score_sum"], 1.0);
  EXPECT_EQ(scores["subjective"]["embedding_model"], "mpnet");
  EXPECT_EQ(scores["answer_acc"], 50.0);  // query 0 wrong, query 8 similarity 1
  EXPECT_EQ(server.requests()[0]["input"][0], "Do not swim.");
  // The server failing is a failure of the work: exit 1, with the server's message.
  testing::ScriptedReply rejected;
  rejected.status = 400;
  rejected.raw_body = R"({"error": {"message": "not an embedding model"}})";
  server.enqueue(rejected);
  o = run_split(dir, args, out);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_THAT(o.output, HasSubstr("not an embedding model"));
}

TEST(EvalScore, GaiaJsonHasAccuracyPerLevel) {
  core::TempDir dir;
  std::ofstream(dir.path() / "metadata.jsonl")
      << R"({"task_id": "a", "Question": "Q", "Level": 1, "Final answer": "1,000"})"
      << "\n"
      << R"({"task_id": "b", "Question": "Q", "Level": 2, "Final answer": "Paris"})"
      << "\n"
      << R"({"task_id": "c", "Question": "Q", "Level": 3, "Final answer": "7"})"
      << "\n";
  std::ofstream(dir.path() / "p.jsonl") << R"({"id": "a", "answer": "1,000"})"
                                        << "\n"
                                        << R"({"id": "b", "answer": "paris."})"
                                        << "\n";
  std::string out;
  const MatOutcome o =
      run_split(dir,
                "eval score gaia --json --data " + (dir.path() / "metadata.jsonl").string() +
                    " --predictions " + (dir.path() / "p.jsonl").string(),
                out);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const core::Json scores = core::Json::parse(out);
  EXPECT_NEAR(scores["accuracy"].get<double>(), 200.0 / 3, 1e-9);
  EXPECT_EQ(scores["level1"], 100.0);
  EXPECT_EQ(scores["level2"], 100.0);
  EXPECT_EQ(scores["level3"], 0.0);
  EXPECT_EQ(scores["missing_predictions"], core::Json({"c"}));
  std::string table;
  run_split(dir,
            "eval score gaia --data " + dir.path().string() + " --predictions " +
                (dir.path() / "p.jsonl").string(),
            table);
  EXPECT_THAT(table, HasSubstr("level 3"));
  EXPECT_THAT(table, HasSubstr("66.67"));
}

// MAT's second chance (wrong answers rewritten into the question's form, then scored again) is
// reported under its own key and label; the official accuracy stays as it was.
TEST(EvalScore, GaiaReformatIsReportedApartFromTheOfficialScore) {
  core::TempDir dir;
  std::ofstream(dir.path() / "metadata.jsonl")
      << R"({"task_id": "a", "Question": "How far is it, in km?", "Level": 1, "Final answer": "17"})"
      << "\n"
      << R"({"task_id": "b", "Question": "Which city?", "Level": 1, "Final answer": "Paris"})"
      << "\n";
  std::ofstream(dir.path() / "p.jsonl") << R"({"id": "a", "answer": "It is 17 km away."})"
                                        << "\n"
                                        << R"({"id": "b", "answer": "Paris"})"
                                        << "\n";
  testing::FakeOpenAIServer server;
  server.enqueue(testing::ScriptedReply::text("17"));
  const std::string args = "eval score gaia --data " + (dir.path() / "metadata.jsonl").string() +
                           " --predictions " + (dir.path() / "p.jsonl").string() +
                           " --reformat-model fake-model --reformat-url " + server.base_url();
  std::string out;
  const MatOutcome o = run_split(dir, args + " --json", out);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const core::Json scores = core::Json::parse(out);
  EXPECT_EQ(scores["accuracy"], 50.0);
  EXPECT_EQ(scores["mat_reformatted"]["accuracy"], 100.0);
  EXPECT_EQ(scores["mat_reformatted"]["rewritten"], 1);
  ASSERT_EQ(server.request_count(), 1u);  // only the wrong answer was rewritten
  const std::string sent = server.requests()[0]["messages"].dump();
  EXPECT_THAT(sent, HasSubstr("It is 17 km away."));
  EXPECT_THAT(sent, HasSubstr("How far is it, in km?"));
  server.enqueue(testing::ScriptedReply::text("17"));
  std::string table;
  run_split(dir, args, table);
  EXPECT_THAT(table, HasSubstr("not the official score"));
}

TEST(EvalScore, BadUsageAndBrokenFilesExitTwoNamingTheProblem) {
  core::TempDir dir;
  std::ofstream(dir.path() / "p.jsonl") << "{\"id\": \"0\", \"answer\": \"4\"}\n"
                                        << "oops\n"
                                        << "{\"id\": \"gta-1\", \"answer\": \"4\"}\n";
  const std::string predictions = " --predictions " + (dir.path() / "p.jsonl").string();
  MatOutcome o = run_mat("eval score gta --data " + kGta + predictions);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("2 problems"));
  EXPECT_THAT(o.output, HasSubstr("p.jsonl:2: not a JSON object"));
  EXPECT_THAT(o.output, HasSubstr("gta-1: "));
  EXPECT_THAT(o.output, Not(HasSubstr("objective")));  // no scores from a broken input

  o = run_mat("eval score gta --data /nonexistent/dataset.json" + predictions);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("/nonexistent/dataset.json"));
  std::ofstream(dir.path() / "dataset.json") << "{\"0\": {";
  o = run_mat("eval score gta --data " + (dir.path() / "dataset.json").string() + predictions);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.output, HasSubstr("dataset.json"));
  EXPECT_EQ(run_mat("eval score mmlu --data " + kGta + predictions).exit_code, 2);
  EXPECT_EQ(run_mat("eval score gta" + predictions).exit_code, 2);
  EXPECT_EQ(run_mat("eval").exit_code, 2);
}

}  // namespace
}  // namespace mat

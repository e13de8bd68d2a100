// `mat eval gta|gaia`, `mat eval report` and `mat eval compare` as a user runs them, against the
// fake OpenAI-compatible server on a small GTA-format benchmark the test writes (tiny images, one
// query whose image is missing): a run killed with SIGKILL and resumed gives the same report as
// an uninterrupted one, without running a finished task again; the HTML report renders in
// headless Chromium with its charts, and every link in it resolves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <set>
#include <thread>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "support/fake_openai_server.h"
#include "support/mat_process.h"

namespace mat {
namespace {

namespace fs = std::filesystem;
using core::Json;
using testing::FakeOpenAIServer;
using ::testing::HasSubstr;
using testing::MatOutcome;
using testing::run_mat;
using testing::ScriptedReply;

// The same reply for every step of every task, so that the order in which parallel tasks take
// replies does not matter: step 1 draws a box on the task's image (and fails for image_2), step
// 2 answers from the image's name.
constexpr const char* kStep = R"(Thought: look at the image, then answer.
Code:
```py
try:
    seen += 1
except NameError:
    seen = 1
    import glob
    name = sorted(glob.glob('image_*.png'))[0]
if seen == 1:
    print(draw_box(image_path=name, bbox=[1, 1, 8, 8]))
    if name == 'image_2.png':
        raise ValueError('a failing step')
else:
    final_answer(answer={'image_1.png': 'It is a cat.', 'image_2.png': '114',
                         'image_3.png': 'red and blue', 'image_4.png': 'a sunny beach',
                         'image_5.png': 'done'}[name])
```)";

Json query(const std::string& image, const std::vector<std::string>& tools, Json gt_answer) {
  Json dialogs = Json::array({{{"role", "user"}, {"content", "What is in " + image + "?"}}});
  Json tool_list = Json::array();
  for (const std::string& tool : tools) {
    dialogs.push_back({{"role", "assistant"},
                       {"tool_calls",
                        {{{"type", "function"},
                          {"function", {{"name", tool}, {"arguments", Json::object()}}}}}}});
    dialogs.push_back(
        {{"role", "tool"}, {"name", tool}, {"content", {{"type", "text"}, {"content", "ok"}}}});
    tool_list.push_back({{"name", tool}});
  }
  dialogs.push_back({{"role", "assistant"}, {"content", "the answer"}});
  return {{"tools", tool_list},
          {"files", {{{"type", "image"}, {"path", "image/" + image}}}},
          {"dialogs", dialogs},
          {"gt_answer", gt_answer}};
}

Json aliases(std::initializer_list<const char*> group) {
  Json list = Json::array();
  for (const char* alias : group) list.push_back(alias);
  return Json::array({list});
}

// A GTA-format benchmark: six queries, the image of the last one missing.
fs::path write_benchmark(const fs::path& dir) {
  Json dataset = Json::object();
  dataset["0"] = query("image_1.png", {"ImageDescription"},
                       {{"whitelist", aliases({"cat"})}, {"blacklist", nullptr}});
  dataset["1"] = query("image_2.png", {"OCR", "Calculator"},
                       {{"whitelist", aliases({"14"})}, {"blacklist", nullptr}});
  dataset["2"] = query("image_3.png", {"DrawBox"},
                       {{"whitelist", aliases({"blue"})}, {"blacklist", aliases({"red"})}});
  dataset["3"] = query("image_4.png", {"ImageDescription"}, Json::array({"A sunny beach."}));
  dataset["4"] = query("image_5.png", {"TextToImage"}, nullptr);
  dataset["5"] =
      query("image_6.png", {"OCR"}, {{"whitelist", aliases({"x"})}, {"blacklist", nullptr}});
  fs::create_directories(dir / "image");
  for (int i = 1; i <= 5; ++i) {
    cv::imwrite((dir / "image" / ("image_" + std::to_string(i) + ".png")).string(),
                cv::Mat(16, 16, CV_8UC3, cv::Scalar(40 * i, 90, 200)));
  }
  core::write_json_file(dir / "dataset.json", dataset);
  return dir;
}

void enqueue_steps(FakeOpenAIServer& server, int count, std::chrono::milliseconds delay) {
  for (int i = 0; i < count; ++i) {
    ScriptedReply reply = ScriptedReply::text(kStep);
    reply.delay = delay;
    server.enqueue(reply);
  }
}

std::string eval_args(const fs::path& data, const fs::path& out, const FakeOpenAIServer& server,
                      const std::string& extra = "") {
  return "eval gta --data " + data.string() + " --out " + out.string() + " --model fake-vlm " +
         "--base-url " + server.base_url() + " " + extra;
}

// source.id -> record of every finished task in a run folder.
std::map<std::string, Json> finished_records(const fs::path& run_dir) {
  std::map<std::string, Json> records;
  std::error_code error;
  if (!fs::is_directory(run_dir / "tasks", error)) return records;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir / "tasks", error)) {
    std::ifstream in(entry.path() / "trajectory.json");
    const Json record = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.value("end_reason", "") == "final_answer") {
      records[record["source"]["id"].get<std::string>()] = record;
    }
  }
  return records;
}

// Starts `mat <args>` and kills it with SIGKILL once a task's record is finished; returns the
// finished records at that moment.
std::map<std::string, Json> kill_after_first_record(const std::string& args,
                                                    const fs::path& run_dir) {
  const std::string command = "exec env -u OPENAI_BASE_URL -u OPENAI_API_KEY -u MAT_MODEL " +
                              std::string(MAT_BINARY_DIR) + "/mat " + args + " >/dev/null 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  bool exited = false;
  while (!exited && std::chrono::steady_clock::now() < deadline &&
         finished_records(run_dir).empty()) {
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_FALSE(exited) << "mat ended before it could be killed";
  return finished_records(run_dir);
}

// The report without what differs between two runs of the same work: times and paths.
Json comparable(Json report) {
  report.erase("generated_at");
  report.erase("run_dir");
  for (Json* values : {&report["overall"]}) values->erase("wall_s_per_task");
  for (Json& group : report["groups"]) group["values"].erase("wall_s_per_task");
  for (Json& row : report["task_rows"]) {
    row.erase("wall_s");
    if (row["error"].is_string()) row["error"] = "(error)";
  }
  return report;
}

// Chromium's DOM of `page` after it loaded.
std::string dump_dom(const fs::path& page) {
  const std::string command =
      "chromium --headless --no-sandbox --disable-gpu "
      "--dump-dom 'file://" +
      fs::absolute(page).string() + "' 2>/dev/null";
  std::string dom;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return dom;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) dom.append(buffer, n);
  ::pclose(pipe);
  return dom;
}

// Every href and src of `dom` that is not an anchor, checked to exist relative to `page`'s folder.
std::vector<std::string> links_of(const std::string& dom) {
  std::vector<std::string> links;
  const std::regex link(R"re((?:href|src)="([^"#]+)")re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), link); it != std::sregex_iterator();
       ++it) {
    links.push_back((*it)[1]);
  }
  return links;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

std::string unescape(std::string text) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"&amp;", "&"}, {"%25", "%"}}) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

class EvalRun : public ::testing::Test {
 protected:
  core::TempDir dir_;
  fs::path data_ = write_benchmark(dir_.path() / "gta");
};

TEST_F(EvalRun, KilledAndResumedGivesTheSameReportAsAnUninterruptedRun) {
  // Uninterrupted, one job.
  FakeOpenAIServer straight;
  enqueue_steps(straight, 40, std::chrono::milliseconds(0));
  const fs::path once = dir_.path() / "once";
  const MatOutcome first = run_mat(eval_args(data_, once, straight, "--jobs 1"));
  // The query without its image fails, naming the folder to unpack the images into.
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_THAT(first.output, HasSubstr("image/image_6.png not found in " + data_.string()));
  EXPECT_THAT(first.output, HasSubstr("running AnsAcc official"));
  const Json reference = core::read_json_file(once / "report.json");

  // Killed once a task has finished, then resumed, two jobs.
  FakeOpenAIServer server;
  enqueue_steps(server, 60, std::chrono::milliseconds(150));
  const fs::path resumed = dir_.path() / "resumed";
  const std::map<std::string, Json> before =
      kill_after_first_record(eval_args(data_, resumed, server, "--jobs 2"), resumed);
  ASSERT_FALSE(before.empty());
  EXPECT_FALSE(fs::exists(resumed / "report.json"));  // it died before the end
  const MatOutcome second = run_mat(eval_args(data_, resumed, server, "--jobs 2"));
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_THAT(second.output, HasSubstr("task(s) already have a complete record"));
  // A task finished before the kill was not run again: its record is the same run.
  for (const auto& [id, record] : before) {
    const Json now = core::read_json_file(resumed / "tasks" / id / "trajectory.json");
    EXPECT_EQ(now["id"], record["id"]) << "task " << id << " ran again";
  }
  const Json report = core::read_json_file(resumed / "report.json");
  EXPECT_EQ(comparable(report), comparable(reference));

  // The numbers themselves.
  const Json& overall = reference["overall"];
  EXPECT_EQ(reference["tasks"], 6);
  EXPECT_EQ(reference["recorded"], 6);
  EXPECT_EQ(overall["ans_acc_official"]["numerator"], 1);  // "cat"; "114" and "red" are not
  EXPECT_EQ(overall["ans_acc_official"]["denominator"], 4);
  EXPECT_EQ(overall["ans_acc_mat"]["numerator"], 3);  // substring and no blacklist
  EXPECT_EQ(overall["tool_acc"]["numerator"], 1);     // only DrawBox had its counterpart called
  EXPECT_EQ(overall["tool_acc"]["denominator"], 6);
  EXPECT_EQ(overall["code_exec"]["numerator"], 9);  // 5 tasks x 2 steps, image_2's first fails
  EXPECT_EQ(overall["code_exec"]["denominator"], 10);
  EXPECT_EQ(overall["steps_per_task"]["value"], 2.0);  // over the 5 tasks that ran
  EXPECT_EQ(reference["end_reasons"]["final_answer"], 5);
  EXPECT_EQ(reference["end_reasons"]["input_error"], 1);
  EXPECT_EQ(reference["tools"][0]["name"], "draw_box");
  EXPECT_EQ(reference["tools"][0]["calls"], 10);  // in the code of both steps, as written
  EXPECT_EQ(reference["tools"][0]["failed_steps"], 1);
  EXPECT_EQ(reference["scores"]["objective_acc_official"], 25.0);

  // `mat eval score` reads the same folder of records.
  const MatOutcome scored =
      run_mat("eval score gta --json --data " + data_.string() + " --predictions " + once.string() +
              " >" + (dir_.path() / "scores.json").string());
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  const Json scores = core::read_json_file(dir_.path() / "scores.json");
  EXPECT_EQ(scores["objective_correct_official"], 1);
  EXPECT_EQ(scores["objective_correct_mat"], 3);
}

TEST_F(EvalRun, TheHtmlReportRendersWithChartsAndLinksThatResolve) {
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "Debian's chromium is needed (scripts/install-deps.sh installs it)";
  FakeOpenAIServer server;
  enqueue_steps(server, 20, std::chrono::milliseconds(0));
  const fs::path run = dir_.path() / "run";
  const MatOutcome o = run_mat(eval_args(data_, run, server, "--ids 0,1,2,5"));
  ASSERT_EQ(o.exit_code, 1) << o.output;  // query 5 has no image

  const Json report = core::read_json_file(run / "report.json");
  const std::string dom = dump_dom(run / "report.html");
  ASSERT_THAT(dom, HasSubstr("GTA run: fake-vlm"));
  // One chart per metric, drawn.
  EXPECT_EQ(count_of(dom, "<svg"), report["metrics"].size());
  EXPECT_GT(count_of(dom, "<rect"), report["metrics"].size());
  std::set<std::string> pages;
  for (const std::string& link : links_of(dom)) {
    EXPECT_TRUE(fs::exists(run / unescape(link))) << link;
    if (link.ends_with("trajectory.html")) pages.insert(link);
  }
  EXPECT_EQ(pages.size(), 4u);  // one per task, the failed one too

  // A task's page: thought, code, observation and the images, every link resolving.
  const fs::path page = run / "tasks" / "0" / "trajectory.html";
  const std::string task_dom = dump_dom(page);
  EXPECT_THAT(task_dom, HasSubstr("look at the image, then answer."));
  EXPECT_THAT(task_dom, HasSubstr("draw_box(image_path=name"));
  EXPECT_THAT(task_dom, HasSubstr("It is a cat."));
  EXPECT_GE(count_of(task_dom, "<img"), 2u);  // the task's image and the boxed copy
  for (const std::string& link : links_of(task_dom)) {
    EXPECT_TRUE(fs::exists(page.parent_path() / unescape(link))) << link;
  }
  // The missing image is named on its page.
  EXPECT_THAT(core::read_file(run / "tasks" / "5" / "trajectory.html"),
              HasSubstr("unpack the GTA release archive"));

  // Two runs side by side.
  FakeOpenAIServer other;
  enqueue_steps(other, 20, std::chrono::milliseconds(0));
  const fs::path run2 = dir_.path() / "run2";
  ASSERT_EQ(run_mat(eval_args(data_, run2, other, "--ids 0,1")).exit_code, 0);
  const fs::path cmp = dir_.path() / "cmp";
  const MatOutcome c = run_mat("eval compare " + run.string() + " " + run2.string() +
                               " --label untuned --label tuned --out " + cmp.string());
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_THAT(c.output, HasSubstr("| AnsAcc, official (word boundaries) | 25.00 % (1/4) | "
                                  "50.00 % (1/2) |"));
  const std::string cmp_dom = dump_dom(cmp / "compare.html");
  EXPECT_EQ(count_of(cmp_dom, "<svg"), report["metrics"].size());
  for (const std::string& link : links_of(cmp_dom)) {
    EXPECT_TRUE(fs::exists(cmp / unescape(link))) << link;
  }
  // Each run's headline figures, under its label, for scripts that read compare.json.
  const core::Json comparison = core::read_json_file(cmp / "compare.json");
  EXPECT_EQ(comparison["runs"][1]["label"], "tuned");
  EXPECT_EQ(comparison["runs"][1]["tasks"], 2);
  EXPECT_DOUBLE_EQ(comparison["runs"][1]["overall"]["ans_acc_official"]["value"].get<double>(),
                   50.0);
  EXPECT_TRUE(comparison["runs"][0]["overall"].contains("code_exec"));
  EXPECT_TRUE(fs::exists(cmp / "compare.md"));
}

TEST_F(EvalRun, RefusesAnotherModelsRunFolderAndUnknownIds) {
  FakeOpenAIServer server;
  enqueue_steps(server, 4, std::chrono::milliseconds(0));
  const fs::path run = dir_.path() / "run";
  ASSERT_EQ(run_mat(eval_args(data_, run, server, "--limit 1")).exit_code, 0);
  const MatOutcome other = run_mat("eval gta --data " + data_.string() + " --out " + run.string() +
                                   " --model another --base-url " + server.base_url());
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.output, HasSubstr("holds a run of the model 'fake-vlm'"));
  const MatOutcome unknown = run_mat(eval_args(data_, dir_.path() / "r2", server, "--ids 0,99"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("does not have: 99"));
  // Resuming a finished run runs nothing and asks the server nothing.
  const size_t asked = server.request_count();
  ASSERT_EQ(run_mat(eval_args(data_, run, server, "--limit 1")).exit_code, 0);
  EXPECT_EQ(server.request_count(), asked);
}

TEST(EvalGaia, RunsTasksWithAttachmentsAndScoresPerLevel) {
  core::TempDir dir;
  std::ofstream(dir.path() / "notes.txt") << "the number is 17\n";
  std::ofstream(dir.path() / "metadata.jsonl") << Json{{"task_id", "t1"},
                                                       {"Question", "What number is in the file?"},
                                                       {"Level", 1},
                                                       {"Final answer", "17"},
                                                       {"file_name", "notes.txt"}}
                                                      .dump()
                                               << "\n"
                                               << Json{{"task_id", "t2"},
                                                       {"Question", "Name a colour."},
                                                       {"Level", "2"},
                                                       {"Final answer", "blue"},
                                                       {"file_name", ""}}
                                                      .dump()
                                               << "\n";
  FakeOpenAIServer server;
  for (int i = 0; i < 2; ++i) {
    server.enqueue(ScriptedReply::text(
        "Thought: read it\nCode:\n```py\nimport glob\nfinal_answer(answer=open('notes.txt')"
        ".read().split()[-1] if glob.glob('notes.txt') else 'red')\n```"));
  }
  const fs::path run = dir.path() / "run";
  const MatOutcome o = run_mat("eval gaia --data " + dir.path().string() + " --out " +
                               run.string() + " --model fake-vlm --base-url " + server.base_url());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const Json report = core::read_json_file(run / "report.json");
  EXPECT_EQ(report["overall"]["ans_acc_official"]["numerator"], 1);
  EXPECT_EQ(report["groups"][0]["name"], "level 1");
  EXPECT_EQ(report["groups"][0]["values"]["ans_acc_official"]["value"], 100.0);
  EXPECT_EQ(report["groups"][1]["values"]["ans_acc_official"]["value"], 0.0);
  // The attachment's path was given in the task text.
  EXPECT_THAT(server.requests()[0].dump(), HasSubstr("notes.txt"));
}

}  // namespace
}  // namespace mat

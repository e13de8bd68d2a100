// The runner's pure parts: which tools a step's code calls, task folders, which records are
// complete, task selection, and the metrics and charts of a report built from records in memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mat/core/error.h"
#include "mat/eval/eval_task.h"
#include "mat/eval/report_render.h"
#include "mat/eval/run_report.h"
#include "mat/eval/runner.h"

namespace mat::eval {
namespace {

using core::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ToolCalls, CountsNamesFollowedByAParenthesis) {
  const std::vector<std::string> tools = {"ocr", "draw_box", "visualizer"};
  EXPECT_THAT(tool_calls_in("t = ocr(image_path='a.png')\nb = draw_box (image_path=t, bbox=[])\n"
                            "ocr(image_path='b.png')",
                            tools),
              ElementsAre(Pair("draw_box", 1), Pair("ocr", 2)));
  // Not a call: a longer name, a method, a mention without '('.
  EXPECT_TRUE(tool_calls_in("my_ocr(x); self.ocr(x); print('ocr')", tools).empty());
}

TEST(ToolCalls, GtaToolsMapToTheirMatCounterparts) {
  EXPECT_THAT(mat_tools_for("OCR"), ElementsAre("ocr"));
  EXPECT_THAT(mat_tools_for("GoogleSearch"), ElementsAre("web_search", "visit_page"));
  EXPECT_TRUE(mat_tools_for("Calculator").empty());  // plain Python in MAT
  // A reference call by one of mat's own tools (a GTA-format dataset written for mat) is itself.
  EXPECT_THAT(mat_tools_for("facedetection"), ElementsAre("facedetection"));
  EXPECT_EQ(gta_category("MathOCR"), "logic");
  EXPECT_EQ(gta_category("Nope"), "");
}

TEST(RunFolder, TaskFolderNamesAreSafeAndDistinct) {
  EXPECT_EQ(task_folder_name("12"), "12");
  EXPECT_EQ(task_folder_name("c61d22de-5f6c-4958-a7f6-5e9707bd3466"),
            "c61d22de-5f6c-4958-a7f6-5e9707bd3466");
  EXPECT_EQ(task_folder_name("../x"), "..%2Fx");
  EXPECT_EQ(task_folder_name(".."), "%2E%2E");
  EXPECT_NE(task_folder_name("a/b"), task_folder_name("a%2Fb"));
}

TEST(RunFolder, OnlyFinishedRecordsAreComplete) {
  agent::Trajectory t;
  EXPECT_FALSE(is_complete(t));
  for (const char* reason : {"final_answer", "max_steps", "max_errors", "model_error"}) {
    t.end_reason = reason;
    EXPECT_TRUE(is_complete(t)) << reason;
  }
  t.end_reason = "model_error";
  EXPECT_FALSE(is_complete(t, /*retry_errors=*/true));
  for (const char* reason : {"interrupted", "input_error"}) {
    t.end_reason = reason;
    EXPECT_FALSE(is_complete(t)) << reason;
  }
}

TEST(Selection, IdsKeepTheBenchmarksOrderAndLimitCutsThem) {
  std::vector<EvalTask> tasks;
  for (const char* id : {"0", "1", "2", "3"}) {
    EvalTask task;
    task.id = id;
    tasks.push_back(task);
  }
  auto ids = [](const std::vector<EvalTask>& selected) {
    std::vector<std::string> out;
    for (const EvalTask& t : selected) out.push_back(t.id);
    return out;
  };
  EXPECT_THAT(ids(select_tasks(tasks, {"3", "1"}, std::nullopt)), ElementsAre("1", "3"));
  EXPECT_THAT(ids(select_tasks(tasks, {}, 2)), ElementsAre("0", "1"));
  EXPECT_THAT(ids(select_tasks(tasks, {"3", "2", "1"}, 1)), ElementsAre("1"));
  try {
    select_tasks(tasks, {"1", "9"}, 1);
    FAIL() << "an unknown id was accepted";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not have: 9"));
  }
}

agent::Step step(const std::string& code, bool failed) {
  agent::Step s;
  s.code = code;
  if (failed) s.error = "ValueError";
  s.tokens_in = 100;
  s.tokens_out = 10;
  return s;
}

TEST(Report, MetricsFollowTheirDefinitions) {
  GtaDataset dataset;
  GtaQuery a, b, c;
  a.id = "a";
  a.whitelist = {{"14"}};
  a.reference_calls = {{"OCR", {}}, {"Calculator", {}}};
  b.id = "b";
  b.whitelist = {{"cat"}};
  b.reference_calls = {{"Calculator", {}}};  // nothing MAT calls a tool for: not in ToolAcc
  c.id = "c";
  c.kind = GtaAnswerKind::kImageGeneration;
  c.reference_calls = {{"TextToImage", {}}};
  dataset.queries = {a, b, c};

  RunRecords records;
  agent::Trajectory ta;
  ta.tools = {"ocr", "image_generator", "final_answer"};
  ta.steps = {step("x = ocr(image_path='p.png')", true), step("final_answer(answer='114')", false)};
  ta.final_answer = "114";
  ta.end_reason = "final_answer";
  ta.wall_ms = 3000;
  records["a"] = {ta, "tasks/a/trajectory.json", "tasks/a/trajectory.html"};
  agent::Trajectory tc = ta;
  tc.steps = {step("print(1)", false)};
  tc.final_answer.reset();
  tc.end_reason = "max_steps";
  records["c"] = {tc, "tasks/c/trajectory.json", "tasks/c/trajectory.html"};

  const Json report = gta_report(dataset, records, nullptr);
  const Json& overall = report["overall"];
  EXPECT_EQ(overall["ans_acc_official"]["numerator"], 0);  // "14" is not a word in "114"
  EXPECT_EQ(overall["ans_acc_mat"]["numerator"], 1);
  EXPECT_EQ(overall["ans_acc_mat"]["denominator"], 2);
  EXPECT_EQ(overall["tool_acc"]["numerator"], 1);  // a called ocr; c never image_generator
  EXPECT_EQ(overall["tool_acc"]["denominator"], 2);
  EXPECT_EQ(overall["code_exec"]["numerator"], 2);
  EXPECT_EQ(overall["code_exec"]["denominator"], 3);
  EXPECT_EQ(overall["steps_per_task"]["value"], 1.5);  // over the 2 tasks with a record
  EXPECT_EQ(overall["answered"]["numerator"], 1);
  EXPECT_EQ(overall["answered"]["denominator"], 3);
  EXPECT_EQ(report["not_run"], Json::array({"b"}));
  EXPECT_EQ(report["end_reasons"]["not_run"], 1);
  EXPECT_EQ(report["task_rows"][0]["tools"], Json({{"ocr", 1}}));  // final_answer is no tool
  // Categories: a is perception (OCR) and logic (Calculator).
  EXPECT_EQ(report["groups"][0]["name"], "perception");
  EXPECT_EQ(report["groups"][0]["tasks"], 1);
  EXPECT_EQ(report["groups"][2]["name"], "logic");
  EXPECT_EQ(report["groups"][2]["tasks"], 2);
  for (const Json& metric : report["metrics"]) {
    EXPECT_FALSE(metric["definition"].get<std::string>().empty()) << metric["key"];
  }

  const std::string md = report_markdown(report);
  EXPECT_THAT(md, HasSubstr("| AnsAcc, MAT-style (substring, no blacklist) | 50.00 % (1/2) |"));
  EXPECT_THAT(md, HasSubstr("**ToolAcc (reference tools covered)**: Share of queries"));
  const std::string html = report_html(report);
  EXPECT_THAT(html, HasSubstr("<a href=\"tasks/a/trajectory.html\">a</a>"));
}

TEST(Charts, BarsScaleAndMissingValuesSayNa) {
  const std::string svg =
      svg_bar_chart("CodeExec", "%", {"all", "level 1"}, {{"run <1>", {50.0, std::nullopt}}});
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("width=\"145.0\""));  // half of the 290-pixel plot
  EXPECT_THAT(svg, HasSubstr(">n/a</text>"));
  EXPECT_THAT(svg, HasSubstr("run &lt;1&gt;"));
}

}  // namespace
}  // namespace mat::eval

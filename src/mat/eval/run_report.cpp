#include "mat/eval/run_report.h"

#include <algorithm>
#include <functional>
#include <set>

#include "mat/core/utc_time.h"
#include "mat/eval/gaia_scorer.h"
#include "mat/eval/gaia_scores.h"
#include "mat/eval/gta_scores.h"
#include "mat/eval/runner.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr std::string_view kFinalAnswerTool = "final_answer";

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string shortened(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return text.substr(0, cut) + "…";
}

// ---- metric catalogue -------------------------------------------------------------------------

struct MetricInfo {
  const char* key;
  const char* label;
  const char* unit;
  const char* definition;
};

constexpr MetricInfo kGtaOfficial{
    "ans_acc_official", "AnsAcc, official (word boundaries)", "%",
    "Objective queries whose final answer the official OpenCompass GTA scorer accepts: for every "
    "whitelist group an alias matches case-insensitively at word boundaries, and no blacklist "
    "alias matches; over the objective queries run (156 in the full benchmark). A missing answer "
    "is wrong."};
constexpr MetricInfo kGtaMat{
    "ans_acc_mat", "AnsAcc, MAT-style (substring, no blacklist)", "%",
    "Objective queries where every whitelist group has an alias that is a case-insensitive "
    "substring of the final answer, blacklist ignored (the MAT paper's lenient scorer); over the "
    "objective queries run (k/156 in the full benchmark)."};
constexpr MetricInfo kGaiaOfficial{
    "ans_acc_official", "AnsAcc, official (GAIA quasi-exact match)", "%",
    "Tasks whose final answer the official GAIA scorer accepts (numbers without $ % , compared "
    "as floats; lists split on , and ; compared element-wise; strings without whitespace, case "
    "and punctuation); over the tasks run. A missing answer is scored as the string \"None\"."};
constexpr MetricInfo kToolAcc{
    "tool_acc", "ToolAcc (reference tools covered)", "%",
    "Share of queries whose run called, for every tool of the reference dialog's tool chain that "
    "has a MAT counterpart, at least one of its counterparts (OCR: ocr; ImageDescription, "
    "RegionAttributeDescription: visualizer; TextToBbox: objectlocation; DrawBox: draw_box; "
    "AddText: add_text; GoogleSearch: web_search or visit_page; MathOCR: ocr or visualizer; "
    "CountGivenObject: objectlocation, visualizer or facedetection; TextToImage: "
    "image_generator; ImageStylization: image_edit). Calculator, Solver and Plot are plain Python "
    "in MAT and are left out; queries whose chain holds only those are not counted. A reference "
    "tool named by one of mat's own names (a GTA-format dataset written for mat) is itself. A "
    "tool is called when its name followed by '(' occurs in a step's code (the record holds no "
    "list of calls), whether or not the code then ran. This is an end-to-end measure, not GTA's "
    "step-by-step ToolAcc."};
constexpr MetricInfo kCodeExec{
    "code_exec", "CodeExec", "%",
    "Steps whose code ran without an exception (the step has code and no error), over all steps "
    "of all runs; a reply that could not be parsed or was cut off counts as a failed step."};
constexpr MetricInfo kAnswered{
    "answered", "Answered", "%",
    "Tasks whose record holds a final answer (from final_answer() or the best-answer request "
    "after a limit), over the tasks run."};
constexpr MetricInfo kSteps{
    "steps_per_task", "Steps per task", "steps",
    "Agent steps per task, over the tasks that ran (a record that is not an input_error: a task "
    "whose files are missing never reaches the model)."};
constexpr MetricInfo kTokensIn{
    "tokens_in_per_task", "Prompt tokens per task", "tokens",
    "Prompt tokens the model server reported per task (every step and the best-answer request), "
    "over the tasks that ran."};
constexpr MetricInfo kTokensOut{"tokens_out_per_task", "Completion tokens per task", "tokens",
                                "Completion tokens per task, counted as the prompt tokens are."};
constexpr MetricInfo kWall{"wall_s_per_task", "Wall time per task", "s",
                           "Seconds from the start of a task's run to its end, over the tasks "
                           "that ran (parallel jobs overlap)."};

Json metric_json(const MetricInfo& info) {
  return {{"key", info.key},
          {"label", info.label},
          {"unit", info.unit},
          {"definition", info.definition}};
}

// ---- aggregation over task rows -----------------------------------------------------------------

Json ratio(int numerator, int denominator) {
  return {{"value", denominator == 0 ? Json() : Json(100.0 * numerator / denominator)},
          {"numerator", numerator},
          {"denominator", denominator}};
}

Json mean(double total, int tasks) {
  return {{"value", tasks == 0 ? Json() : Json(total / tasks)}, {"total", total}, {"tasks", tasks}};
}

bool is_true(const Json& row, const char* key) {
  return row.contains(key) && row[key].is_boolean() && row[key].get<bool>();
}

// The metrics of `rows` (GTA rows have "official", "mat" and "tool_covered"; GAIA rows "correct").
Json aggregate(const std::vector<const Json*>& rows, bool gta) {
  int objective = 0, official = 0, mat = 0, covered = 0, coverable = 0, answered = 0;
  int recorded = 0, steps = 0, steps_ok = 0;
  double tokens_in = 0, tokens_out = 0, wall = 0;
  for (const Json* row : rows) {
    if (gta) {
      if ((*row)["kind"] == "objective") {
        ++objective;
        official += is_true(*row, "official");
        mat += is_true(*row, "mat");
      }
      if ((*row)["tool_covered"].is_boolean()) {
        ++coverable;
        covered += is_true(*row, "tool_covered");
      }
    } else {
      ++objective;
      official += is_true(*row, "correct");
    }
    answered += (*row)["answer"].is_string();
    // Means are over the tasks that ran: a task without its files never reached the model.
    if ((*row)["record"].is_null() || (*row)["end_reason"] == agent::end_reason::kInputError) {
      continue;
    }
    ++recorded;
    steps += (*row)["steps"].get<int>();
    steps_ok += (*row)["steps_ok"].get<int>();
    tokens_in += (*row)["tokens_in"].get<double>();
    tokens_out += (*row)["tokens_out"].get<double>();
    wall += (*row)["wall_s"].get<double>();
  }
  Json values = {{"ans_acc_official", ratio(official, objective)}};
  if (gta) {
    values["ans_acc_mat"] = ratio(mat, objective);
    values["tool_acc"] = ratio(covered, coverable);
  }
  values["code_exec"] = ratio(steps_ok, steps);
  values["answered"] = ratio(answered, static_cast<int>(rows.size()));
  values["steps_per_task"] = mean(steps, recorded);
  values["tokens_in_per_task"] = mean(tokens_in, recorded);
  values["tokens_out_per_task"] = mean(tokens_out, recorded);
  values["wall_s_per_task"] = mean(wall, recorded);
  return values;
}

// ---- per task -----------------------------------------------------------------------------------

// The common part of a task row: what its record says about the run.
Json task_row(const std::string& id, const RunRecords& records) {
  Json row = {{"id", id}};
  const auto found = records.find(id);
  if (found == records.end()) {
    row.update({{"end_reason", "not_run"},
                {"error", Json()},
                {"answer", Json()},
                {"steps", 0},
                {"steps_ok", 0},
                {"tokens_in", 0},
                {"tokens_out", 0},
                {"wall_s", 0.0},
                {"tools", Json::object()},
                {"record", Json()},
                {"page", Json()}});
    return row;
  }
  const agent::Trajectory& t = found->second.record;
  std::vector<std::string> tool_names;
  for (const std::string& name : t.tools) {
    if (name != kFinalAnswerTool) tool_names.push_back(name);
  }
  int steps_ok = 0;
  std::int64_t tokens_in = 0, tokens_out = 0;
  std::map<std::string, int> calls;
  for (const agent::Step& step : t.steps) {
    steps_ok += !step.code.empty() && !step.error;
    tokens_in += step.tokens_in;
    tokens_out += step.tokens_out;
    for (const auto& [name, count] : tool_calls_in(step.code, tool_names)) calls[name] += count;
  }
  if (t.best_answer_request) {
    tokens_in += t.best_answer_request->tokens_in;
    tokens_out += t.best_answer_request->tokens_out;
  }
  Json tools = Json::object();
  for (const auto& [name, count] : calls) tools[name] = count;
  row.update({{"end_reason", t.end_reason},
              {"error", t.error ? Json(shortened(*t.error, 400)) : Json()},
              {"answer", t.final_answer ? Json(*t.final_answer) : Json()},
              {"steps", t.steps.size()},
              {"steps_ok", steps_ok},
              {"tokens_in", tokens_in},
              {"tokens_out", tokens_out},
              {"wall_s", t.wall_ms / 1000.0},
              {"tools", tools},
              {"record", found->second.path},
              {"page", found->second.page}});
  return row;
}

Predictions predictions_of(const RunRecords& records) {
  Predictions predictions;
  for (const auto& [id, entry] : records) {
    predictions.by_id[id] = {entry.record.final_answer, entry.path};
  }
  return predictions;
}

// Per-tool use over all rows: calls, steps and tasks that call it, and how the tasks scored.
Json tool_table(const std::vector<Json>& rows, const RunRecords& records, const char* correct_key) {
  struct Use {
    int calls = 0, steps = 0, failed_steps = 0, tasks = 0, tasks_correct = 0;
  };
  std::map<std::string, Use> uses;
  std::set<std::string> available;
  for (const Json& row : rows) {
    const auto found = records.find(row["id"].get<std::string>());
    if (found == records.end()) continue;
    const agent::Trajectory& t = found->second.record;
    std::vector<std::string> names;
    for (const std::string& name : t.tools) {
      if (name == kFinalAnswerTool) continue;
      names.push_back(name);
      available.insert(name);
    }
    for (const agent::Step& step : t.steps) {
      for (const auto& [name, count] : tool_calls_in(step.code, names)) {
        Use& use = uses[name];
        use.calls += count;
        ++use.steps;
        use.failed_steps += step.error.has_value();
      }
    }
    for (const auto& [name, count] : row["tools"].items()) {
      ++uses[name].tasks;
      uses[name].tasks_correct += is_true(row, correct_key);
    }
  }
  Json table = Json::array();
  for (const std::string& name : available) {
    const Use use = uses.contains(name) ? uses[name] : Use{};
    table.push_back({{"name", name},
                     {"calls", use.calls},
                     {"steps", use.steps},
                     {"failed_steps", use.failed_steps},
                     {"tasks", use.tasks},
                     {"tasks_correct", use.tasks_correct}});
  }
  std::stable_sort(table.begin(), table.end(), [](const Json& a, const Json& b) {
    return a["calls"].get<int>() > b["calls"].get<int>();
  });
  return table;
}

Json end_reasons(const std::vector<Json>& rows) {
  std::map<std::string, int> counts;
  for (const Json& row : rows) ++counts[row["end_reason"].get<std::string>()];
  Json json = Json::object();
  for (const auto& [reason, count] : counts) json[reason] = count;
  return json;
}

Json group_json(const char* dimension, const std::string& name,
                const std::vector<const Json*>& rows, bool gta) {
  return {{"dimension", dimension},
          {"name", name},
          {"tasks", rows.size()},
          {"values", aggregate(rows, gta)}};
}

Json model_of(const RunRecords& records) {
  for (const auto& [id, entry] : records) {
    const agent::Trajectory& t = entry.record;
    if (t.model.name.empty()) continue;
    return {{"backend", t.model.backend},
            {"name", t.model.name},
            {"adapter", t.model.adapter ? Json(*t.model.adapter) : Json()},
            {"prompt_version", t.prompt_version}};
  }
  return Json();
}

// The fields both benchmarks' reports share, around their own rows and groups.
Json assemble(const char* benchmark, const fs::path& data, const RunRecords& records,
              std::vector<Json> rows, Json groups, const std::vector<MetricInfo>& metrics,
              Json scores, const char* correct_key) {
  std::vector<const Json*> all;
  Json not_run = Json::array();
  for (const Json& row : rows) {
    all.push_back(&row);
    if (row["record"].is_null()) not_run.push_back(row["id"]);
  }
  Json metric_list = Json::array();
  for (const MetricInfo& info : metrics) metric_list.push_back(metric_json(info));
  const bool gta = std::string_view(benchmark) == "gta";
  scores.erase(gta ? "queries" : "tasks");
  Json report = {{"benchmark", benchmark},
                 {"data", data.string()},
                 {"model", model_of(records)},
                 {"generated_at", core::utc_now()},
                 {"tasks", rows.size()},
                 {"recorded", rows.size() - not_run.size()},
                 {"not_run", not_run},
                 {"metrics", metric_list},
                 {"overall", aggregate(all, gta)},
                 {"groups", std::move(groups)},
                 {"tools", tool_table(rows, records, correct_key)},
                 {"end_reasons", end_reasons(rows)},
                 {"scores", std::move(scores)}};
  report["task_rows"] = std::move(rows);
  return report;
}

}  // namespace

std::map<std::string, int> tool_calls_in(std::string_view code,
                                         const std::vector<std::string>& tools) {
  std::map<std::string, int> calls;
  for (const std::string& name : tools) {
    if (name.empty()) continue;
    for (size_t at = code.find(name); at != std::string_view::npos; at = code.find(name, at + 1)) {
      if (at > 0 && (is_identifier_char(code[at - 1]) || code[at - 1] == '.')) continue;
      size_t next = at + name.size();
      while (next < code.size() && (code[next] == ' ' || code[next] == '\t')) ++next;
      if (next < code.size() && code[next] == '(') ++calls[name];
    }
  }
  return calls;
}

std::vector<std::string> mat_tools_for(std::string_view gta_tool) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kMap = {
      {"OCR", {"ocr"}},
      {"ImageDescription", {"visualizer"}},
      {"RegionAttributeDescription", {"visualizer"}},
      {"TextToBbox", {"objectlocation"}},
      {"DrawBox", {"draw_box"}},
      {"AddText", {"add_text"}},
      {"GoogleSearch", {"web_search", "visit_page"}},
      {"MathOCR", {"ocr", "visualizer"}},
      {"CountGivenObject", {"objectlocation", "visualizer", "facedetection"}},
      {"TextToImage", {"image_generator"}},
      {"ImageStylization", {"image_edit"}},
  };
  static const std::set<std::string, std::less<>> kPlainPython = {"Calculator", "Solver", "Plot"};
  const auto found = kMap.find(gta_tool);
  if (found != kMap.end()) return found->second;
  if (kPlainPython.contains(gta_tool)) return {};
  // Not one of GTA's tools: a dataset in GTA's format written with mat's own tool names (e.g. by
  // `mat teacher tasks`), whose reference calls name the tool itself.
  return {std::string(gta_tool)};
}

std::string gta_category(std::string_view tool) {
  static const std::map<std::string, std::string, std::less<>> kCategories = {
      {"OCR", "perception"},
      {"ImageDescription", "perception"},
      {"RegionAttributeDescription", "perception"},
      {"TextToBbox", "perception"},
      {"DrawBox", "operation"},
      {"AddText", "operation"},
      {"GoogleSearch", "operation"},
      {"Calculator", "logic"},
      {"Solver", "logic"},
      {"Plot", "logic"},
      {"MathOCR", "logic"},
      {"CountGivenObject", "logic"},
      {"TextToImage", "creativity"},
      {"ImageStylization", "creativity"}};
  const auto found = kCategories.find(tool);
  return found == kCategories.end() ? std::string() : found->second;
}

RunRecords load_run_records(const fs::path& run_dir, std::string_view benchmark,
                            const std::vector<std::string>& ids) {
  RunRecords records;
  for (const std::string& id : ids) {
    std::optional<agent::Trajectory> record = read_task_record(run_dir, benchmark, id);
    if (!record) continue;
    const fs::path dir = fs::path("tasks") / task_folder_name(id);
    records[id] = {std::move(*record), (dir / kRecordFile).string(),
                   (dir / "trajectory.html").string()};
  }
  return records;
}

Json gta_report(const GtaDataset& dataset, const RunRecords& records, llm::Embedder* embedder) {
  const GtaScores scores = score_gta(dataset, predictions_of(records), embedder);
  static const char* const kCategories[] = {"perception", "operation", "logic", "creativity"};
  std::vector<Json> rows;
  std::map<std::string, std::pair<int, int>> reference_use;  // GTA tool: tasks, covered
  std::map<std::string, int> reference_correct;
  for (size_t i = 0; i < dataset.queries.size(); ++i) {
    const GtaQuery& query = dataset.queries[i];
    const GtaQueryScore& score = scores.queries[i];
    Json row = task_row(query.id, records);
    row["kind"] = to_string(query.kind);
    std::vector<std::string> reference;
    for (const GtaToolCall& call : query.reference_calls) {
      if (std::find(reference.begin(), reference.end(), call.name) == reference.end()) {
        reference.push_back(call.name);
      }
    }
    std::set<std::string> categories;
    Json covered = Json();
    for (const std::string& tool : reference) {
      if (!gta_category(tool).empty()) categories.insert(gta_category(tool));
      const std::vector<std::string> counterparts = mat_tools_for(tool);
      if (counterparts.empty()) continue;
      const bool hit = std::any_of(counterparts.begin(), counterparts.end(),
                                   [&](const std::string& n) { return row["tools"].contains(n); });
      covered = (covered.is_null() || covered.get<bool>()) && hit;
      reference_use[tool].first += 1;
      reference_use[tool].second += hit;
    }
    row["reference_tools"] = reference;
    row["categories"] = Json(std::vector<std::string>(categories.begin(), categories.end()));
    row["tool_covered"] = covered;
    if (query.kind == GtaAnswerKind::kObjective) {
      row["official"] = score.official;
      row["mat"] = score.mat;
    } else {
      row["official"] = Json();
      row["mat"] = Json();
    }
    row["similarity"] = score.similarity ? Json(*score.similarity) : Json();
    for (const std::string& tool : reference) reference_correct[tool] += is_true(row, "official");
    rows.push_back(std::move(row));
  }

  Json groups = Json::array();
  for (const char* category : kCategories) {
    std::vector<const Json*> members;
    for (const Json& row : rows) {
      const Json& list = row["categories"];
      if (std::find(list.begin(), list.end(), Json(category)) != list.end()) {
        members.push_back(&row);
      }
    }
    groups.push_back(group_json("category", category, members, true));
  }
  for (const GtaAnswerKind kind :
       {GtaAnswerKind::kObjective, GtaAnswerKind::kSubjective, GtaAnswerKind::kImageGeneration}) {
    std::vector<const Json*> members;
    for (const Json& row : rows) {
      if (row["kind"] == to_string(kind)) members.push_back(&row);
    }
    groups.push_back(group_json("answer kind", to_string(kind), members, true));
  }

  Json report = assemble(
      "gta", dataset.dir, records, std::move(rows), std::move(groups),
      {kGtaOfficial, kGtaMat, kToolAcc, kCodeExec, kAnswered, kSteps, kTokensIn, kTokensOut, kWall},
      scores.to_json(), "official");
  Json reference_tools = Json::array();
  for (const auto& [tool, use] : reference_use) {
    reference_tools.push_back({{"name", tool},
                               {"category", gta_category(tool)},
                               {"mat_tools", mat_tools_for(tool)},
                               {"tasks", use.first},
                               {"covered", use.second},
                               {"tasks_correct_official", reference_correct[tool]}});
  }
  report["reference_tools"] = std::move(reference_tools);
  report["answer_acc_official_end_to_end"] =
      scores.answer_acc() ? Json(*scores.answer_acc()) : Json();
  Json notes = Json::array();
  notes.push_back(
      "AnsAcc over the text-answer queries as the official harness reports it (objective plus "
      "the subjective similarity sum, over objective + subjective queries): " +
      (scores.answer_acc() ? std::to_string(*scores.answer_acc()) + " %"
                           : std::string("not scored (no embedding model for the subjective "
                                         "queries; pass --embedding-model)")));
  notes.push_back("Image-generation queries (" + std::to_string(scores.image_generation) +
                  " here) are not scored: the official score compares the generation tools' "
                  "arguments with BERTScore.");
  notes.push_back(
      "Official scorer quirk: " + std::to_string(scores.boundary_quirk.size()) +
      " objective queries here have a whitelist group whose aliases all begin or end with a "
      "non-word character (\"-2\", \"50%\", \"$2697\"); the official word-boundary pattern "
      "cannot match them where an answer writes them plainly, so official and MAT-style scores "
      "differ there by construction.");
  report["notes"] = std::move(notes);
  return report;
}

Json gaia_report(const GaiaDataset& dataset, const RunRecords& records) {
  const GaiaScores scores = score_gaia(dataset, predictions_of(records));
  std::vector<Json> rows;
  for (size_t i = 0; i < dataset.tasks.size(); ++i) {
    Json row = task_row(dataset.tasks[i].id, records);
    row["level"] = dataset.tasks[i].level;
    row["correct"] = scores.tasks[i].correct;
    rows.push_back(std::move(row));
  }
  Json groups = Json::array();
  for (int level = 1; level <= 3; ++level) {
    std::vector<const Json*> members;
    for (const Json& row : rows) {
      if (row["level"] == level) members.push_back(&row);
    }
    groups.push_back(group_json("level", "level " + std::to_string(level), members, false));
  }
  Json report =
      assemble("gaia", dataset.dir, records, std::move(rows), std::move(groups),
               {kGaiaOfficial, kCodeExec, kAnswered, kSteps, kTokensIn, kTokensOut, kWall},
               scores.to_json(), "correct");
  report["notes"] = Json::array(
      {"ToolAcc is not defined for GAIA: its tasks carry no reference tool chain (the "
       "annotators' tool list is free text).",
       "MAT's second chance (an LLM reformats wrong answers, scored again) is not applied."});
  return report;
}

}  // namespace mat::eval

#include "mat/eval/report_render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "mat/agent/staging.h"
#include "mat/core/error.h"
#include "mat/core/markup.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                   "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

std::string format_number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// A metric value ({value, numerator, denominator} or {value, total, tasks}) as text.
std::string value_text(const Json& entry, const std::string& unit) {
  if (!entry.is_object() || !entry.contains("value") || entry["value"].is_null()) return "n/a";
  const double value = entry["value"].get<double>();
  if (unit == "%") {
    return format_number(value, 2) + " % (" + entry["numerator"].dump() + "/" +
           entry["denominator"].dump() + ")";
  }
  return format_number(value, unit == "s" ? 2 : 1) + " " + unit;
}

std::optional<double> value_of(const Json& entry) {
  if (!entry.is_object() || !entry.contains("value") || entry["value"].is_null()) {
    return std::nullopt;
  }
  return entry["value"].get<double>();
}

// Text for a Markdown table cell: one line, pipes escaped.
std::string cell(std::string_view text, size_t limit = 120) {
  std::string out;
  size_t count = 0;
  for (const char c : text) {
    if (count >= limit && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "…";
      break;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return out;
}

std::string yes_no(const Json& value) {
  if (!value.is_boolean()) return "–";
  return value.get<bool>() ? "✓" : "✗";
}

std::string tools_text(const Json& tools) {
  std::string text;
  for (const auto& [name, count] : tools.items()) {
    text += (text.empty() ? "" : ", ") + name + (count.get<int>() > 1 ? "×" + count.dump() : "");
  }
  return text;
}

std::string model_text(const Json& model) {
  if (!model.is_object()) return "unknown model";
  std::string text = model.value("name", "") + " (" + model.value("backend", "") + ")";
  if (model["adapter"].is_string()) text += " + " + model["adapter"].get<std::string>();
  return text;
}

std::string benchmark_title(const Json& report) {
  return report["benchmark"] == "gta" ? "GTA" : "GAIA";
}

std::string group_title(const Json& group) {
  return group["dimension"].get<std::string>() + ": " + group["name"].get<std::string>();
}

const char* correct_key(const Json& report) {
  return report["benchmark"] == "gta" ? "official" : "correct";
}

// ---- HTML building blocks -------------------------------------------------------------------

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.5em;overflow-x:auto;white-space:pre-wrap;
word-break:break-word}
.ok{color:#2a7d2a}.bad{color:#b22}.muted{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts svg{border:1px solid #eee}
.step{border-left:3px solid #4e79a7;padding-left:1em;margin:1.5em 0}
.step.failed{border-left-color:#e15759}
img.shown{max-width:480px;max-height:360px;border:1px solid #ccc;margin:.25em}
dt{font-weight:bold}dd{margin:0 0 .5em 1em}
)";

std::string page_start(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         core::escape_markup(title) + "</title><style>" + kStyle + "</style></head><body>\n";
}

constexpr const char* kPageEnd = "</body></html>\n";

std::string verdict_html(const Json& value) {
  if (!value.is_boolean()) return "<span class=\"muted\">–</span>";
  return value.get<bool>() ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>";
}

std::string pre(const std::string& text) {
  return "<pre>" + core::escape_markup(text) + "</pre>";
}

// The charts of a report: one per metric, a bar for all tasks and one per group.
std::string report_charts(const Json& report) {
  std::string html = "<div class=\"charts\">\n";
  for (const Json& metric : report["metrics"]) {
    const std::string key = metric["key"];
    std::vector<std::string> categories = {"all tasks"};
    ChartSeries series{report["model"].is_object() ? report["model"].value("name", "run") : "run",
                       {value_of(report["overall"][key])}};
    for (const Json& group : report["groups"]) {
      categories.push_back(group_title(group));
      series.values.push_back(value_of(group["values"][key]));
    }
    html += svg_bar_chart(metric["label"], metric["unit"], categories, {series}) + "\n";
  }
  return html + "</div>\n";
}

std::string definitions_html(const Json& metrics) {
  std::string html = "<dl>\n";
  for (const Json& metric : metrics) {
    html += "<dt>" + core::escape_markup(metric["label"].get<std::string>()) + "</dt><dd>" +
            core::escape_markup(metric["definition"].get<std::string>()) + "</dd>\n";
  }
  return html + "</dl>\n";
}

}  // namespace

std::string svg_bar_chart(const std::string& title, const std::string& unit,
                          const std::vector<std::string>& categories,
                          const std::vector<ChartSeries>& series) {
  constexpr int kWidth = 560, kLabel = 200, kBar = 14, kGap = 8, kTop = 28, kValueSpace = 70;
  const int rows = static_cast<int>(categories.size());
  const int per_row = static_cast<int>(series.size()) * kBar + kGap;
  const int legend = series.size() > 1 ? 18 * static_cast<int>(series.size()) : 0;
  const int height = kTop + rows * per_row + legend + 8;
  double scale_max = unit == "%" ? 100.0 : 0.0;
  if (unit != "%") {
    for (const ChartSeries& s : series) {
      for (const std::optional<double>& v : s.values) {
        if (v) scale_max = std::max(scale_max, *v);
      }
    }
    if (scale_max <= 0) scale_max = 1;
  }
  const double plot = kWidth - kLabel - kValueSpace;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" +
                    std::to_string(kWidth) + "\" height=\"" + std::to_string(height) +
                    "\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">";
  svg += "<title>" + core::escape_markup(title) + "</title>";
  svg += "<text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">" +
         core::escape_markup(title + (unit.empty() ? "" : " (" + unit + ")")) + "</text>";
  for (int r = 0; r < rows; ++r) {
    const int y0 = kTop + r * per_row;
    svg += "<text x=\"" + std::to_string(kLabel - 6) + "\" y=\"" +
           std::to_string(y0 + static_cast<int>(series.size()) * kBar / 2 + 4) +
           "\" text-anchor=\"end\">" + core::escape_markup(categories[r]) + "</text>";
    for (size_t s = 0; s < series.size(); ++s) {
      const int y = y0 + static_cast<int>(s) * kBar;
      // A plain double and a flag rather than an optional: GCC 12 at -O2 warns that the
      // optional's value may be read uninitialised through the branches below.
      const bool known = r < static_cast<int>(series[s].values.size()) && series[s].values[r];
      const double value = known ? *series[s].values[r] : 0.0;
      const double width = known ? std::max(0.0, plot * value / scale_max) : 0.0;
      svg += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
             format_number(width, 1) + "\" height=\"" + std::to_string(kBar - 2) + "\" fill=\"" +
             kColors[s % 8] + "\"><title>" +
             core::escape_markup(series[s].name + ", " + categories[r] + ": " +
                                 (known ? format_number(value, 2) : std::string("n/a"))) +
             "</title></rect>";
      svg += "<text x=\"" + format_number(kLabel + width + 4, 1) + "\" y=\"" +
             std::to_string(y + kBar - 4) + "\">" +
             (known ? format_number(value, unit == "%" ? 1 : 2) : std::string("n/a")) + "</text>";
    }
  }
  if (series.size() > 1) {
    const int y0 = kTop + rows * per_row + 4;
    for (size_t s = 0; s < series.size(); ++s) {
      const int y = y0 + static_cast<int>(s) * 18;
      svg += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y) +
             "\" width=\"12\" height=\"12\" fill=\"" + kColors[s % 8] + "\"/>";
      svg += "<text x=\"" + std::to_string(kLabel + 18) + "\" y=\"" + std::to_string(y + 10) +
             "\">" + core::escape_markup(series[s].name) + "</text>";
    }
  }
  return svg + "</svg>";
}

std::string report_markdown(const Json& report) {
  const bool gta = report["benchmark"] == "gta";
  std::string md = "# " + benchmark_title(report) + " run: " + model_text(report["model"]) + "\n\n";
  md += "- data: `" + report["data"].get<std::string>() + "`\n";
  md += "- generated: " + report["generated_at"].get<std::string>() + "\n";
  md += "- tasks: " + report["tasks"].dump() + " (with a record: " + report["recorded"].dump() +
        ", not run yet: " + std::to_string(report["not_run"].size()) + ")\n\n";
  md += "## Metrics\n\n| metric | value |\n|---|---|\n";
  for (const Json& metric : report["metrics"]) {
    md += "| " + metric["label"].get<std::string>() + " | " +
          value_text(report["overall"][metric["key"].get<std::string>()], metric["unit"]) + " |\n";
  }
  md += "\n## By " + std::string(gta ? "tool category and answer kind" : "level") +
        "\n\n| group | tasks |";
  std::string rule = "|---|---:|";
  for (const Json& metric : report["metrics"]) {
    md += " " + metric["label"].get<std::string>() + " |";
    rule += "---:|";
  }
  md += "\n" + rule + "\n";
  for (const Json& group : report["groups"]) {
    md += "| " + group_title(group) + " | " + group["tasks"].dump() + " |";
    for (const Json& metric : report["metrics"]) {
      md += " " + value_text(group["values"][metric["key"].get<std::string>()], metric["unit"]) +
            " |";
    }
    md += "\n";
  }
  md +=
      "\n## Tools\n\n| tool | calls | steps calling it | of which failed | tasks using it | "
      "of which correct |\n|---|---:|---:|---:|---:|---:|\n";
  for (const Json& tool : report["tools"]) {
    md += "| " + tool["name"].get<std::string>() + " | " + tool["calls"].dump() + " | " +
          tool["steps"].dump() + " | " + tool["failed_steps"].dump() + " | " +
          tool["tasks"].dump() + " | " + tool["tasks_correct"].dump() + " |\n";
  }
  if (gta) {
    md +=
        "\n## Reference tools (GTA's tool chains)\n\n| GTA tool | category | MAT counterparts | "
        "tasks | covered | correct (official) |\n|---|---|---|---:|---:|---:|\n";
    for (const Json& tool : report["reference_tools"]) {
      std::string counterparts;
      for (const Json& name : tool["mat_tools"]) {
        counterparts += (counterparts.empty() ? "" : ", ") + name.get<std::string>();
      }
      md += "| " + tool["name"].get<std::string>() + " | " + tool["category"].get<std::string>() +
            " | " + counterparts + " | " + tool["tasks"].dump() + " | " + tool["covered"].dump() +
            " | " + tool["tasks_correct_official"].dump() + " |\n";
    }
  }
  md += "\n## End reasons\n\n| end reason | tasks |\n|---|---:|\n";
  for (const auto& [reason, count] : report["end_reasons"].items()) {
    md += "| " + reason + " | " + count.dump() + " |\n";
  }
  if (report.contains("notes")) {
    md += "\n## Notes\n\n";
    for (const Json& note : report["notes"]) md += "- " + note.get<std::string>() + "\n";
  }
  md += "\n## Definitions\n\n";
  for (const Json& metric : report["metrics"]) {
    md += "- **" + metric["label"].get<std::string>() +
          "**: " + metric["definition"].get<std::string>() + "\n";
  }
  md += "\n## Tasks\n\n| id | " + std::string(gta ? "kind" : "level") + " | end | steps | " +
        (gta ? "official | MAT | tools covered" : "correct") +
        " | answer | tools | trajectory |\n|---|---|---|---:|" + (gta ? "---|---|---|" : "---|") +
        "---|---|---|\n";
  for (const Json& row : report["task_rows"]) {
    md += "| " + cell(row["id"].get<std::string>()) + " | " +
          (gta ? row["kind"].get<std::string>() : row["level"].dump()) + " | " +
          row["end_reason"].get<std::string>() + " | " + row["steps"].dump() + " | ";
    md += gta ? yes_no(row["official"]) + " | " + yes_no(row["mat"]) + " | " +
                    yes_no(row["tool_covered"]) + " | "
              : yes_no(row["correct"]) + " | ";
    md += cell(row["answer"].is_string() ? row["answer"].get<std::string>() : "") + " | " +
          cell(tools_text(row["tools"])) + " | " +
          (row["page"].is_string() ? "[page](" + row["page"].get<std::string>() + ") · [record](" +
                                         row["record"].get<std::string>() + ")"
                                   : std::string("–")) +
          " |\n";
  }
  return md;
}

std::string report_html(const Json& report) {
  const bool gta = report["benchmark"] == "gta";
  const std::string title = benchmark_title(report) + " run: " + model_text(report["model"]);
  std::string html = page_start(title);
  html += "<h1>" + core::escape_markup(title) + "</h1>\n<p>data <code>" +
          core::escape_markup(report["data"].get<std::string>()) + "</code> · generated " +
          core::escape_markup(report["generated_at"].get<std::string>()) + " · " +
          report["tasks"].dump() + " tasks (with a record: " + report["recorded"].dump() +
          ", not run yet: " + std::to_string(report["not_run"].size()) +
          ") · <a href=\"report.json\">report.json</a> · <a href=\"report.md\">report.md</a></p>\n";
  html += "<h2>Metrics</h2>\n<table><tr><th>metric</th><th>value</th></tr>\n";
  for (const Json& metric : report["metrics"]) {
    html += "<tr><td>" + core::escape_markup(metric["label"].get<std::string>()) +
            "</td><td class=\"num\">" +
            core::escape_markup(
                value_text(report["overall"][metric["key"].get<std::string>()], metric["unit"])) +
            "</td></tr>\n";
  }
  html += "</table>\n<h2>Charts</h2>\n" + report_charts(report);
  html += "<h2>By " + std::string(gta ? "tool category and answer kind" : "level") +
          "</h2>\n<table><tr><th>group</th><th>tasks</th>";
  for (const Json& metric : report["metrics"]) {
    html += "<th>" + core::escape_markup(metric["label"].get<std::string>()) + "</th>";
  }
  html += "</tr>\n";
  for (const Json& group : report["groups"]) {
    html += "<tr><td>" + core::escape_markup(group_title(group)) + "</td><td class=\"num\">" +
            group["tasks"].dump() + "</td>";
    for (const Json& metric : report["metrics"]) {
      html += "<td class=\"num\">" +
              core::escape_markup(
                  value_text(group["values"][metric["key"].get<std::string>()], metric["unit"])) +
              "</td>";
    }
    html += "</tr>\n";
  }
  html +=
      "</table>\n<h2>Tools</h2>\n<table><tr><th>tool</th><th>calls</th><th>steps calling "
      "it</th><th>of which failed</th><th>tasks using it</th><th>of which correct</th></tr>\n";
  for (const Json& tool : report["tools"]) {
    html += "<tr><td>" + core::escape_markup(tool["name"].get<std::string>()) +
            "</td><td class=\"num\">" + tool["calls"].dump() + "</td><td class=\"num\">" +
            tool["steps"].dump() + "</td><td class=\"num\">" + tool["failed_steps"].dump() +
            "</td><td class=\"num\">" + tool["tasks"].dump() + "</td><td class=\"num\">" +
            tool["tasks_correct"].dump() + "</td></tr>\n";
  }
  html += "</table>\n";
  if (gta) {
    html +=
        "<h2>Reference tools (GTA's tool chains)</h2>\n<table><tr><th>GTA tool</th>"
        "<th>category</th><th>MAT counterparts</th><th>tasks</th><th>covered</th>"
        "<th>correct (official)</th></tr>\n";
    for (const Json& tool : report["reference_tools"]) {
      std::string counterparts;
      for (const Json& name : tool["mat_tools"]) {
        counterparts += (counterparts.empty() ? "" : ", ") + name.get<std::string>();
      }
      html += "<tr><td>" + core::escape_markup(tool["name"].get<std::string>()) + "</td><td>" +
              core::escape_markup(tool["category"].get<std::string>()) + "</td><td>" +
              core::escape_markup(counterparts.empty() ? "(plain Python)" : counterparts) +
              "</td><td class=\"num\">" + tool["tasks"].dump() + "</td><td class=\"num\">" +
              tool["covered"].dump() + "</td><td class=\"num\">" +
              tool["tasks_correct_official"].dump() + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  html += "<h2>End reasons</h2>\n<table><tr><th>end reason</th><th>tasks</th></tr>\n";
  for (const auto& [reason, count] : report["end_reasons"].items()) {
    html += "<tr><td>" + core::escape_markup(reason) + "</td><td class=\"num\">" + count.dump() +
            "</td></tr>\n";
  }
  html += "</table>\n";
  if (report.contains("notes")) {
    html += "<h2>Notes</h2>\n<ul>\n";
    for (const Json& note : report["notes"]) {
      html += "<li>" + core::escape_markup(note.get<std::string>()) + "</li>\n";
    }
    html += "</ul>\n";
  }
  html += "<h2>Definitions</h2>\n" + definitions_html(report["metrics"]);
  html += "<h2>Tasks</h2>\n<table><tr><th>id</th><th>" + std::string(gta ? "kind" : "level") +
          "</th><th>end</th><th>steps</th>" +
          (gta ? "<th>official</th><th>MAT</th><th>tools covered</th>" : "<th>correct</th>") +
          "<th>answer</th><th>tools</th></tr>\n";
  for (const Json& row : report["task_rows"]) {
    const std::string id = core::escape_markup(row["id"].get<std::string>());
    html += "<tr><td>" +
            (row["page"].is_string()
                 ? "<a href=\"" + core::escape_markup(row["page"].get<std::string>()) + "\">" + id +
                       "</a>"
                 : id) +
            "</td><td>" +
            core::escape_markup(gta ? row["kind"].get<std::string>() : row["level"].dump()) +
            "</td><td>" + core::escape_markup(row["end_reason"].get<std::string>()) +
            "</td><td class=\"num\">" + row["steps"].dump() + "</td>";
    html += gta ? "<td>" + verdict_html(row["official"]) + "</td><td>" + verdict_html(row["mat"]) +
                      "</td><td>" + verdict_html(row["tool_covered"]) + "</td>"
                : "<td>" + verdict_html(row["correct"]) + "</td>";
    html += "<td>" +
            core::escape_markup(
                cell(row["answer"].is_string() ? row["answer"].get<std::string>() : "", 200)) +
            "</td><td>" + core::escape_markup(tools_text(row["tools"])) + "</td></tr>\n";
  }
  return html + "</table>\n" + kPageEnd;
}

std::string trajectory_html(const agent::Trajectory& t, const Json& row) {
  const std::string id = row.value("id", t.id);
  const std::string benchmark =
      t.source.is_object() ? t.source.value("benchmark", std::string("run")) : "run";
  std::string html = page_start("Task " + id);
  html +=
      "<p><a href=\"../../report.html\">← report</a> · <a href=\"trajectory.json\">record "
      "(JSON)</a></p>\n";
  html += "<h1>" + core::escape_markup(benchmark) + " task " + core::escape_markup(id) +
          "</h1>\n<dl>\n";
  html += "<dt>end</dt><dd>" + core::escape_markup(t.end_reason) + " · " +
          std::to_string(t.steps.size()) + " step(s) · " + format_number(t.wall_ms / 1000, 1) +
          " s · model " + core::escape_markup(t.model.name) + "</dd>\n";
  if (t.error) html += "<dt>error</dt><dd>" + pre(*t.error) + "</dd>\n";
  html +=
      "<dt>final answer</dt><dd>" +
      (t.final_answer ? pre(*t.final_answer) : std::string("<span class=\"muted\">none</span>")) +
      "</dd>\n";
  html += "<dt>ground truth</dt><dd>" + pre(t.ground_truth.dump(2)) + "</dd>\n";
  if (row.contains("official")) {
    html += "<dt>verdicts</dt><dd>official " + verdict_html(row["official"]) + " · MAT-style " +
            verdict_html(row["mat"]) + " · reference tools covered " +
            verdict_html(row["tool_covered"]) + "</dd>\n";
  } else if (row.contains("correct")) {
    html += "<dt>verdict</dt><dd>official " + verdict_html(row["correct"]) + "</dd>\n";
  }
  if (row.contains("reference_tools")) {
    std::string tools;
    for (const Json& name : row["reference_tools"]) {
      tools += (tools.empty() ? "" : ", ") + name.get<std::string>();
    }
    html += "<dt>reference tools</dt><dd>" + core::escape_markup(tools) + "</dd>\n";
  }
  html += "</dl>\n<h2>Task</h2>\n" + pre(t.task);
  if (!t.files.empty()) {
    html += "<h2>Attached files</h2>\n<ul>\n";
    for (const agent::FileRef& file : t.files) {
      html += "<li>" + core::escape_markup(file.path) + " (" + core::escape_markup(file.type) + ")";
      const std::string shown = agent::shown_task_image(file);
      std::error_code error;
      if (file.type == "image" && fs::is_regular_file(fs::path(t.run_dir) / shown, error)) {
        html += "<br><a href=\"" + core::escape_markup(shown) + "\"><img class=\"shown\" src=\"" +
                core::escape_markup(shown) + "\" alt=\"" + core::escape_markup(file.path) +
                "\"></a>";
      }
      html += "</li>\n";
    }
    html += "</ul>\n";
  }
  html += "<h2>Steps</h2>\n";
  for (const agent::Step& step : t.steps) {
    html += std::string("<div class=\"step") + (step.error ? " failed" : "") + "\"><h3>Step " +
            std::to_string(step.index + 1) + "</h3>\n<p class=\"muted\">tokens " +
            std::to_string(step.tokens_in) + " in, " + std::to_string(step.tokens_out) +
            " out · model " + format_number(step.model_ms / 1000, 2) + " s · code " +
            format_number(step.exec_ms / 1000, 2) + " s · finish " +
            core::escape_markup(step.finish_reason) + "</p>\n";
    if (!step.thought.empty()) html += "<h4>Thought</h4>" + pre(step.thought);
    if (!step.code.empty()) {
      html += "<h4>Code</h4>" + pre(step.code);
    } else {
      html += "<h4>Reply</h4>" + pre(step.raw);
    }
    if (step.observation) html += "<h4>Observation</h4>" + pre(*step.observation);
    if (step.error) html += "<h4>Error</h4>" + pre(*step.error);
    for (const std::string& image : step.images) {
      html += "<a href=\"" + core::escape_markup(image) + "\"><img class=\"shown\" src=\"" +
              core::escape_markup(image) + "\" alt=\"" + core::escape_markup(image) + "\"></a>";
    }
    html += "</div>\n";
  }
  if (t.best_answer_request) {
    html += "<h2>Best-answer request</h2>\n" + pre(t.best_answer_request->raw);
  }
  return html + kPageEnd;
}

void write_run_report(const fs::path& run_dir, const Json& report, const RunRecords& records) {
  auto write_text = [](const fs::path& path, const std::string& text) {
    const fs::path temporary = path.string() + ".tmp";
    std::FILE* file = std::fopen(temporary.c_str(), "wb");
    if (file == nullptr) throw core::Error("cannot write " + path.string());
    const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    if (std::fclose(file) != 0 || !ok) throw core::Error("cannot write " + path.string());
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) throw core::Error("cannot write " + path.string() + ": " + error.message());
  };
  std::map<std::string, const Json*> rows;
  for (const Json& row : report["task_rows"]) rows[row["id"].get<std::string>()] = &row;
  for (const auto& [id, entry] : records) {
    const auto row = rows.find(id);
    if (row == rows.end()) continue;
    write_text(run_dir / entry.page, trajectory_html(entry.record, *row->second));
  }
  core::write_json_file(run_dir / "report.json", report);
  write_text(run_dir / "report.md", report_markdown(report));
  write_text(run_dir / "report.html", report_html(report));
}

// ---- comparison -----------------------------------------------------------------------------

Json compare_reports(const std::vector<Json>& reports, const std::vector<std::string>& labels,
                     const std::vector<fs::path>& run_dirs, const fs::path& out_dir) {
  if (reports.empty()) throw core::Error("nothing to compare: name at least one run folder");
  const Json& first = reports.front();
  Json runs = Json::array();
  for (size_t i = 0; i < reports.size(); ++i) {
    if (reports[i]["benchmark"] != first["benchmark"]) {
      throw core::Error(run_dirs[i].string() + " is a " +
                        reports[i]["benchmark"].get<std::string>() + " run and " +
                        run_dirs[0].string() + " a " + first["benchmark"].get<std::string>() +
                        " run: compare runs of one benchmark");
    }
    const fs::path report_html_path =
        fs::absolute(run_dirs[i] / "report.html").lexically_relative(fs::absolute(out_dir));
    runs.push_back({{"label", labels[i]},
                    {"run_dir", run_dirs[i].string()},
                    {"report_html", report_html_path.string()},
                    {"model", reports[i]["model"]},
                    {"tasks", reports[i]["tasks"]},
                    {"recorded", reports[i]["recorded"]},
                    {"overall", reports[i]["overall"]}});
  }
  Json overall = Json::array();
  for (const Json& metric : first["metrics"]) {
    const std::string key = metric["key"];
    Json values = Json::array();
    for (const Json& report : reports) values.push_back(report["overall"].value(key, Json()));
    overall.push_back({{"key", key}, {"values", values}});
  }
  Json groups = Json::array();
  for (const Json& group : first["groups"]) {
    Json values = Json::object();
    for (const Json& metric : first["metrics"]) {
      const std::string key = metric["key"];
      Json per_run = Json::array();
      for (const Json& report : reports) {
        Json found;
        for (const Json& other : report["groups"]) {
          if (other["dimension"] == group["dimension"] && other["name"] == group["name"]) {
            found = other["values"].value(key, Json());
          }
        }
        per_run.push_back(found);
      }
      values[key] = per_run;
    }
    groups.push_back(
        {{"dimension", group["dimension"]}, {"name", group["name"]}, {"values", values}});
  }
  // Tasks whose verdict differs between the runs (absent from a run: null there).
  const char* verdict = correct_key(first);
  std::map<std::string, std::vector<Json>> verdicts;
  std::vector<std::string> order;
  for (size_t i = 0; i < reports.size(); ++i) {
    for (const Json& row : reports[i]["task_rows"]) {
      const std::string id = row["id"];
      auto [it, added] = verdicts.try_emplace(id, std::vector<Json>(reports.size()));
      if (added) order.push_back(id);
      it->second[i] = row.value(verdict, Json());
    }
  }
  Json differing = Json::array();
  for (const std::string& id : order) {
    const std::vector<Json>& list = verdicts[id];
    if (std::all_of(list.begin(), list.end(), [&](const Json& v) { return v == list[0]; })) {
      continue;
    }
    differing.push_back({{"id", id}, {"verdicts", list}});
  }
  return {{"benchmark", first["benchmark"]}, {"verdict", verdict}, {"runs", runs},
          {"metrics", first["metrics"]},     {"overall", overall}, {"groups", groups},
          {"tasks_differing", differing}};
}

std::string compare_markdown(const Json& c) {
  std::string md = "# " + benchmark_title(c) + ": " + std::to_string(c["runs"].size()) +
                   " runs side by side\n\n| run | folder | model | tasks | with a record |\n"
                   "|---|---|---|---:|---:|\n";
  for (const Json& run : c["runs"]) {
    md += "| " + cell(run["label"].get<std::string>()) + " | [" +
          cell(run["run_dir"].get<std::string>()) + "](" + run["report_html"].get<std::string>() +
          ") | " + cell(model_text(run["model"])) + " | " + run["tasks"].dump() + " | " +
          run["recorded"].dump() + " |\n";
  }
  std::string header = "| metric |", rule = "|---|";
  for (const Json& run : c["runs"]) {
    header += " " + cell(run["label"].get<std::string>()) + " |";
    rule += "---:|";
  }
  md += "\n## Metrics\n\n" + header + "\n" + rule + "\n";
  for (size_t m = 0; m < c["metrics"].size(); ++m) {
    const Json& metric = c["metrics"][m];
    md += "| " + metric["label"].get<std::string>() + " |";
    for (const Json& value : c["overall"][m]["values"]) {
      md += " " + value_text(value, metric["unit"]) + " |";
    }
    md += "\n";
  }
  for (const Json& metric : c["metrics"]) {
    const std::string key = metric["key"];
    md += "\n## " + metric["label"].get<std::string>() + " by group\n\n" +
          std::string("| group |") + header.substr(std::string("| metric |").size()) + "\n" + rule +
          "\n";
    for (const Json& group : c["groups"]) {
      md += "| " + group_title(group) + " |";
      for (const Json& value : group["values"][key]) {
        md += " " + value_text(value, metric["unit"]) + " |";
      }
      md += "\n";
    }
  }
  md += "\n## Tasks whose verdict (" + c["verdict"].get<std::string>() + ") differs\n\n";
  if (c["tasks_differing"].empty())
    md += "None.\n";
  else {
    md += "| id |" + header.substr(std::string("| metric |").size()) + "\n" + rule + "\n";
    for (const Json& task : c["tasks_differing"]) {
      md += "| " + cell(task["id"].get<std::string>()) + " |";
      for (const Json& v : task["verdicts"]) md += " " + yes_no(v) + " |";
      md += "\n";
    }
  }
  md += "\n## Definitions\n\n";
  for (const Json& metric : c["metrics"]) {
    md += "- **" + metric["label"].get<std::string>() +
          "**: " + metric["definition"].get<std::string>() + "\n";
  }
  return md;
}

std::string compare_html(const Json& c) {
  const std::string title =
      benchmark_title(c) + ": " + std::to_string(c["runs"].size()) + " runs side by side";
  std::string html = page_start(title) + "<h1>" + core::escape_markup(title) + "</h1>\n";
  html +=
      "<table><tr><th>run</th><th>report</th><th>model</th><th>tasks</th><th>with a "
      "record</th></tr>\n";
  std::vector<std::string> labels;
  for (const Json& run : c["runs"]) {
    labels.push_back(run["label"]);
    html += "<tr><td>" + core::escape_markup(run["label"].get<std::string>()) +
            "</td><td><a href=\"" + core::escape_markup(run["report_html"].get<std::string>()) +
            "\">" + core::escape_markup(run["run_dir"].get<std::string>()) + "</a></td><td>" +
            core::escape_markup(model_text(run["model"])) + "</td><td class=\"num\">" +
            run["tasks"].dump() + "</td><td class=\"num\">" + run["recorded"].dump() +
            "</td></tr>\n";
  }
  html += "</table>\n<h2>Metrics</h2>\n<table><tr><th>metric</th>";
  for (const std::string& label : labels) html += "<th>" + core::escape_markup(label) + "</th>";
  html += "</tr>\n";
  for (size_t m = 0; m < c["metrics"].size(); ++m) {
    const Json& metric = c["metrics"][m];
    html += "<tr><td>" + core::escape_markup(metric["label"].get<std::string>()) + "</td>";
    for (const Json& value : c["overall"][m]["values"]) {
      html +=
          "<td class=\"num\">" + core::escape_markup(value_text(value, metric["unit"])) + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</table>\n<h2>Charts</h2>\n<div class=\"charts\">\n";
  for (size_t m = 0; m < c["metrics"].size(); ++m) {
    const Json& metric = c["metrics"][m];
    const std::string key = metric["key"];
    std::vector<std::string> categories = {"all tasks"};
    for (const Json& group : c["groups"]) categories.push_back(group_title(group));
    std::vector<ChartSeries> series;
    for (size_t r = 0; r < labels.size(); ++r) {
      ChartSeries s{labels[r], {value_of(c["overall"][m]["values"][r])}};
      for (const Json& group : c["groups"]) s.values.push_back(value_of(group["values"][key][r]));
      series.push_back(std::move(s));
    }
    html += svg_bar_chart(metric["label"], metric["unit"], categories, series) + "\n";
  }
  html += "</div>\n<h2>Tasks whose verdict (" +
          core::escape_markup(c["verdict"].get<std::string>()) + ") differs</h2>\n";
  if (c["tasks_differing"].empty()) {
    html += "<p>None.</p>\n";
  } else {
    html += "<table><tr><th>id</th>";
    for (const std::string& label : labels) html += "<th>" + core::escape_markup(label) + "</th>";
    html += "</tr>\n";
    for (const Json& task : c["tasks_differing"]) {
      html += "<tr><td>" + core::escape_markup(task["id"].get<std::string>()) + "</td>";
      for (const Json& v : task["verdicts"]) html += "<td>" + verdict_html(v) + "</td>";
      html += "</tr>\n";
    }
    html += "</table>\n";
  }
  html += "<h2>Definitions</h2>\n" + definitions_html(c["metrics"]);
  return html + kPageEnd;
}

}  // namespace mat::eval

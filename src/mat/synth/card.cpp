#include "mat/synth/card.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "mat/agent/trajectory.h"
#include "mat/core/error.h"
#include "mat/core/markup.h"
#include "mat/synth/export.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/progress.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr int kBarHeight = 18;
constexpr int kLabelWidth = 190;
constexpr int kBarWidth = 360;
constexpr size_t kMaxBars = 20;

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), value == static_cast<std::int64_t>(value) ? "%.0f" : "%.3g",
                value);
  return text;
}

// Counts, most frequent first (ties by name), as [{"name", "count"}].
Json ranked(const std::map<std::string, std::int64_t>& counts) {
  std::vector<std::pair<std::string, std::int64_t>> rows(counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Json list = Json::array();
  for (const auto& [name, count] : rows) list.push_back({{"name", name}, {"count", count}});
  return list;
}

std::vector<std::pair<std::string, double>> bars_of(const Json& list) {
  std::vector<std::pair<std::string, double>> bars;
  for (const Json& row : list) {
    if (bars.size() == kMaxBars) break;
    bars.emplace_back(row["name"].get<std::string>(), row["count"].get<double>());
  }
  return bars;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!(file << text) || !file.flush()) throw core::Error("cannot write " + path.string());
}

}  // namespace

std::string bar_chart_svg(const std::string& title,
                          const std::vector<std::pair<std::string, double>>& bars) {
  double top = 0;
  for (const auto& bar : bars) top = std::max(top, bar.second);
  const int width = kLabelWidth + kBarWidth + 60;
  const int height = 30 + static_cast<int>(bars.size()) * (kBarHeight + 4) + 10;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "<text x=\"4\" y=\"18\" font-weight=\"bold\">" +
                    core::escape_markup(title) + "</text>\n";
  int y = 30;
  for (const auto& [label, value] : bars) {
    const int length = top > 0 ? static_cast<int>(value / top * kBarWidth) : 0;
    svg += "<text x=\"" + std::to_string(kLabelWidth - 6) + "\" y=\"" +
           std::to_string(y + kBarHeight - 5) + "\" text-anchor=\"end\">" +
           core::escape_markup(label.substr(0, 30)) + "</text>\n<rect x=\"" +
           std::to_string(kLabelWidth) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
           std::to_string(length) + "\" height=\"" + std::to_string(kBarHeight) +
           "\" fill=\"#4a7ab5\"/>\n<text x=\"" + std::to_string(kLabelWidth + length + 4) +
           "\" y=\"" + std::to_string(y + kBarHeight - 5) + "\">" + number_text(value) +
           "</text>\n";
    y += kBarHeight + 4;
  }
  return svg + "</svg>\n";
}

Json card_json(const fs::path& run_dir, Store& store) {
  std::map<std::string, std::int64_t> file_types, tools, steps;
  std::int64_t exported = 0, total_steps = 0;
  for (const TaskRow& row : store.tasks(store.task_count())) {
    if (!is_accepted(store, row.id)) continue;
    const agent::Trajectory record =
        agent::Trajectory::from_json(store.result(row.id, stage::kTrajectory)->output);
    if (!record.succeeded()) continue;
    ++exported;
    for (const agent::FileRef& file : record.files) ++file_types[file.type];
    for (const std::string& tool : row.spec.tools) ++tools[tool];
    ++steps[std::to_string(record.steps.size())];
    total_steps += static_cast<std::int64_t>(record.steps.size());
  }
  Json step_rows = Json::array();  // in step order, not by frequency
  std::vector<std::pair<std::int64_t, std::int64_t>> by_steps;
  for (const auto& [n, count] : steps) by_steps.emplace_back(std::stoll(n), count);
  std::sort(by_steps.begin(), by_steps.end());
  for (const auto& [n, count] : by_steps) {
    step_rows.push_back({{"name", std::to_string(n)}, {"count", count}});
  }
  const Json progress =
      progress_json(read_progress(run_dir, store, std::chrono::seconds(60), nullptr));
  Json acceptance = Json::object();
  for (const auto& [stage, row] : progress["stages"].items()) {
    Json entry = row;
    for (const char* live : {"in_flight", "per_minute"}) entry.erase(live);
    acceptance[stage] = entry;
  }
  return {{"tasks", exported},
          {"files_by_type", ranked(file_types)},
          {"tools_by_frequency", ranked(tools)},
          {"steps_per_trajectory",
           {{"histogram", step_rows},
            {"mean", exported == 0 ? Json() : Json(static_cast<double>(total_steps) / exported)}}},
          {"acceptance", acceptance},
          {"teacher_calls", progress["teacher_calls"]},
          {"tokens_in", progress["tokens_in"]},
          {"tokens_out", progress["tokens_out"]},
          {"cost_usd", progress["cost_usd"]},
          {"config", load_run_config(run_dir).to_json()}};
}

void write_card(const fs::path& run_dir, Store& store, const fs::path& out) {
  const Json card = card_json(run_dir, store);
  core::write_json_file(out / "card.json", card);
  fs::create_directories(out / "card");
  std::vector<std::pair<std::string, double>> pass_rates;
  for (const auto& [stage, row] : card["acceptance"].items()) {
    if (!row["pass_rate"].is_null()) pass_rates.emplace_back(stage, row["pass_rate"].get<double>());
  }
  write_text(out / "card" / "tools.svg",
             bar_chart_svg("Tools asked for, by tasks", bars_of(card["tools_by_frequency"])));
  write_text(out / "card" / "files.svg",
             bar_chart_svg("Files by type", bars_of(card["files_by_type"])));
  write_text(
      out / "card" / "steps.svg",
      bar_chart_svg("Steps per trajectory", bars_of(card["steps_per_trajectory"]["histogram"])));
  write_text(out / "card" / "acceptance.svg", bar_chart_svg("Pass rate per stage", pass_rates));

  std::string md = "# Dataset card: mat synth export\n\n";
  char line[256];
  std::snprintf(line, sizeof(line),
                "%lld trajectories (accepted by both verifiers, ended with final_answer) from "
                "teacher `%s`; %lld teacher calls, %lld tokens in, %lld out, $%.4f.\n\n",
                static_cast<long long>(card["tasks"].get<std::int64_t>()),
                card["config"]["teacher"]["model"].get<std::string>().c_str(),
                static_cast<long long>(card["teacher_calls"].get<std::int64_t>()),
                static_cast<long long>(card["tokens_in"].get<std::int64_t>()),
                static_cast<long long>(card["tokens_out"].get<std::int64_t>()),
                card["cost_usd"].get<double>());
  md += line;
  md +=
      "## Acceptance per stage\n\n![pass rate per stage](card/acceptance.svg)\n\n"
      "| stage | results | pass rate | calls | tokens in | tokens out | cost (USD) | main "
      "rejection reasons |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& [stage, row] : card["acceptance"].items()) {
    std::string reasons;
    for (const Json& reason : row["top_reasons"]) {
      std::string text = reason["reason"].get<std::string>().substr(0, 80);
      std::replace(text.begin(), text.end(), '|', '/');
      std::replace(text.begin(), text.end(), '\n', ' ');
      reasons += (reasons.empty() ? "" : "; ") +
                 std::to_string(reason["count"].get<std::int64_t>()) + "× " + text;
    }
    std::snprintf(line, sizeof(line), "| %s | %lld | %s | %lld | %lld | %lld | %.4f | ",
                  stage.c_str(), static_cast<long long>(row["total"].get<std::int64_t>()),
                  row["pass_rate"].is_null()
                      ? "-"
                      : (number_text(100 * row["pass_rate"].get<double>()) + "%").c_str(),
                  static_cast<long long>(row["calls"].get<std::int64_t>()),
                  static_cast<long long>(row["tokens_in"].get<std::int64_t>()),
                  static_cast<long long>(row["tokens_out"].get<std::int64_t>()),
                  row["cost_usd"].get<double>());
    md += line + reasons + " |\n";
  }
  md +=
      "\n## Tools\n\n![tools by frequency](card/tools.svg)\n\n## Files\n\n"
      "![files by type](card/files.svg)\n\n## Steps per trajectory\n\n"
      "![steps per trajectory](card/steps.svg)\n\nThe numbers: `card.json`.\n";
  write_text(out / "card.md", md);
}

}  // namespace mat::synth

// Renders run reports (run_report.h) for people: Markdown, a self-contained HTML page with inline
// SVG charts per metric and group, one readable HTML page per task's trajectory (thought, code,
// observation, images as relative links), and runs side by side (`mat eval compare`).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/core/json.h"
#include "mat/eval/run_report.h"

namespace mat::eval {

// A horizontal bar chart as an <svg> element: one row per category, one bar per series in it.
// Percent charts (`unit` "%") run from 0 to 100, others from 0 to the largest value. A missing
// value is drawn as "n/a".
struct ChartSeries {
  std::string name;
  std::vector<std::optional<double>> values;  // one per category
};
std::string svg_bar_chart(const std::string& title, const std::string& unit,
                          const std::vector<std::string>& categories,
                          const std::vector<ChartSeries>& series);

std::string report_markdown(const core::Json& report);
std::string report_html(const core::Json& report);

// The page of one task, to be written beside its record (image links are relative to the record's
// folder, the link back to the report is ../../report.html). `row` is the task's row of the report.
std::string trajectory_html(const agent::Trajectory& record, const core::Json& row);

// Writes report.json, report.md and report.html into `run_dir` and each recorded task's page
// (RunRecord::page). Throws core::Error when a file cannot be written.
void write_run_report(const std::filesystem::path& run_dir, const core::Json& report,
                      const RunRecords& records);

// Runs side by side: `reports` (of one benchmark; throws core::Error otherwise) with their
// `labels` and the folders they came from, for links relative to `out_dir`.
core::Json compare_reports(const std::vector<core::Json>& reports,
                           const std::vector<std::string>& labels,
                           const std::vector<std::filesystem::path>& run_dirs,
                           const std::filesystem::path& out_dir);
std::string compare_markdown(const core::Json& comparison);
std::string compare_html(const core::Json& comparison);

}  // namespace mat::eval

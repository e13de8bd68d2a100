// Tiny training data for the sample and export tests: trajectory records built in code, written
// as JSONL with their images, and the golden fixture model's tokenizer and image processor.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mat/agent/memory.h"
#include "mat/agent/trajectory.h"
#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/tokenizer.h"

namespace mat::train::testing {

inline std::filesystem::path golden_model() {
  return std::filesystem::path(MAT_SOURCE_DIR) / "tests/fixtures/golden/model";
}

inline std::filesystem::path golden_image() {
  return std::filesystem::path(MAT_SOURCE_DIR) / "tests/fixtures/golden/images/small.png";
}

inline agent::Step step(int index, std::string thought, std::string code, std::string observation) {
  agent::Step s;
  s.index = index;
  s.thought = std::move(thought);
  s.code = std::move(code);
  s.raw = agent::assistant_text(s);
  s.observation = std::move(observation);
  s.finish_reason = "stop";
  return s;
}

inline agent::Step error_step(int index, std::string code, std::string error) {
  agent::Step s = step(index, "Try the division.", std::move(code), "");
  s.error = std::move(error);
  return s;
}

// A run that read a chart (one attached image), printed a value, then answered.
inline agent::Trajectory chart_run(const std::string& id = "run-1") {
  agent::Trajectory t;
  t.id = id;
  t.task = "What is the largest value in the chart?";
  t.files = {{"chart.png", "image"}};
  t.tools = {"final_answer"};
  t.prompt_version = "t3-v2";
  t.steps.push_back(step(0, "I read the values.", "print(max([3, 7, 5]))", "7"));
  t.steps.push_back(step(1, "The largest is 7.", "final_answer(7)", "7"));
  t.final_answer = "7";
  t.end_reason = agent::end_reason::kFinalAnswer;
  return t;
}

// A folder with records written as one JSONL file, and the images they show beside it.
class DataDir {
 public:
  DataDir() { std::filesystem::create_directories(dir_.path() / "shown/task"); }

  const std::filesystem::path& path() const { return dir_.path(); }

  // Writes `lines` (records or raw text) to NAME and the chart image each record shows.
  std::filesystem::path write(const std::vector<std::string>& lines,
                              const std::string& name = "data.jsonl") {
    std::filesystem::copy_file(golden_image(), dir_.path() / "shown/task/chart.png",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream out(dir_.path() / name);
    for (const std::string& line : lines) out << line << "\n";
    return dir_.path() / name;
  }

  std::filesystem::path write(const std::vector<agent::Trajectory>& records) {
    std::vector<std::string> lines;
    for (const agent::Trajectory& record : records) lines.push_back(record.to_json().dump());
    return write(lines);
  }

 private:
  core::TempDir dir_{"train-data"};
};

}  // namespace mat::train::testing

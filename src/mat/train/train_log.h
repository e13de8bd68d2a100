// The record of a training run: one StepRecord per optimizer step, kept as train_log.jsonl (one
// JSON object per line) and drawn as loss.svg. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"

namespace mat::train {

struct StepRecord {
  std::int64_t step = 0;  // 1-based: the number of optimizer updates made
  double loss = 0;        // mean cross-entropy over the step's target tokens
  double lr = 0;
  double grad_norm = 0;  // before clipping
  double tokens_per_s = 0;
  std::optional<double> eval_loss;  // at checkpoints, when there is eval data
};

core::Json to_json(const StepRecord& record);
StepRecord step_record_from_json(const core::Json& json);

// Reads train_log.jsonl (absent: empty). Throws core::Error naming the file and line for a line
// that is not a step record.
std::vector<StepRecord> read_train_log(const std::filesystem::path& path);
// Rewrites the whole log (after a resume cut it back to the checkpoint).
void write_train_log(const std::filesystem::path& path, const std::vector<StepRecord>& records);
// Appends one line and flushes it (a crash loses at most the step in progress).
void append_train_log(const std::filesystem::path& path, const StepRecord& record);

// A small self-contained SVG: the train loss per step and the eval loss at its steps.
std::string loss_chart_svg(const std::vector<StepRecord>& records);

}  // namespace mat::train

// Where a `mat synth` run stands, per stage: done, in flight, accepted, rejected, failed,
// throughput, tokens, cost, the main rejection reasons, and an ETA. The same numbers feed the
// live display of `mat synth run` and `mat synth status` (which reads the store through SQLite's
// WAL while a run writes it, and the in-flight counts the run leaves in RUN/progress.json).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/synth/limits.h"
#include "mat/synth/store.h"

namespace mat::synth {

inline constexpr const char* kProgressFile = "progress.json";

struct StageProgress {
  std::string name;
  std::map<std::string, std::int64_t> by_status;  // done, accepted, rewritten, rejected, failed
  std::int64_t in_flight = 0;
  StageUsage usage;
  double per_minute = 0;  // results (batches for queries) over the last window
  std::vector<std::pair<std::string, std::int64_t>> top_reasons;
};

struct Progress {
  std::int64_t tasks = 0;  // live
  std::int64_t duplicates = 0;
  std::int64_t target = 0;            // the tasks asked for (0: not known)
  std::int64_t through = 0;           // tasks through every stage or stopped by one
  std::int64_t accepted = 0;          // what export would take
  std::vector<StageProgress> stages;  // queries first, then the task stages in order
  StoreCounts counts;
  std::optional<double> eta_seconds;
  std::optional<double> budget_usd;
  bool running = false;  // a `mat synth run` is at work on it (its progress file is fresh)
};

// What the running process knows and the store does not: the calls in flight per stage.
struct LiveState {
  std::map<std::string, LiveStage> stages;
  std::int64_t target = 0;
  std::optional<double> budget_usd;
};

// Reads the run's state; `window`: how far back throughput is measured. `live` null: read what
// a running process left in RUN/progress.json, if it is fresh.
Progress read_progress(const std::filesystem::path& run_dir, Store& store,
                       std::chrono::seconds window, const LiveState* live);

core::Json progress_json(const Progress& progress);
// Several lines, one per stage, for a terminal or a log.
std::string progress_text(const Progress& progress);

// Written by the running process every tick, read by `status` (atomic replace).
void write_live_state(const std::filesystem::path& run_dir, const LiveState& live);

}  // namespace mat::synth

// The live display of `mat synth run`: the run's progress (synth/progress.h) redrawn in place
// on stderr every second when it is a terminal, one block of lines every 30 s (and at the end)
// otherwise; and RUN/progress.json kept fresh (every second) for `mat synth status`.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "mat/synth/limits.h"
#include "mat/synth/progress.h"

namespace mat::cli {

class SynthProgressDisplay {
 public:
  // Reads the run through its own store connection (a WAL reader beside the run's writer).
  SynthProgressDisplay(std::filesystem::path run_dir, const synth::CallLimiter& limiter,
                       std::int64_t target, bool quiet);
  ~SynthProgressDisplay();  // stops, drawing the last state once
  SynthProgressDisplay(const SynthProgressDisplay&) = delete;
  SynthProgressDisplay& operator=(const SynthProgressDisplay&) = delete;

  bool on_terminal() const { return terminal_; }
  // A line about one unit: printed above the display (never on a terminal, where the display
  // says it all).
  void line(const std::string& text);

 private:
  void loop();
  void draw(bool show);

  const std::filesystem::path run_dir_;
  const synth::CallLimiter& limiter_;
  const std::int64_t target_;
  const bool quiet_;
  const bool terminal_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  synth::Store store_;
  int drawn_lines_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mat::cli

#include "synth_progress_display.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace mat::cli {
namespace {

constexpr std::chrono::seconds kTick{1};  // the terminal's redraw, and RUN/progress.json
constexpr std::chrono::seconds kLogEvery{30};
constexpr std::chrono::seconds kThroughputWindow{300};

}  // namespace

SynthProgressDisplay::SynthProgressDisplay(std::filesystem::path run_dir,
                                           const synth::CallLimiter& limiter, std::int64_t target,
                                           bool quiet)
    : run_dir_(std::move(run_dir)),
      limiter_(limiter),
      target_(target),
      quiet_(quiet),
      terminal_(::isatty(STDERR_FILENO) == 1),
      store_(run_dir_) {
  thread_ = std::thread([this] { loop(); });
}

SynthProgressDisplay::~SynthProgressDisplay() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::error_code ignored;  // the run is over: status must not report it as running
  std::filesystem::remove(run_dir_ / synth::kProgressFile, ignored);
}

void SynthProgressDisplay::line(const std::string& text) {
  if (quiet_ || terminal_) return;
  std::lock_guard lock(mutex_);
  std::cerr << text << "\n";
}

void SynthProgressDisplay::loop() {
  auto logged = std::chrono::steady_clock::now();
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      stopping = wake_.wait_for(lock, kTick, [this] { return stop_; });
    }
    const auto now = std::chrono::steady_clock::now();
    const bool show = !quiet_ && (terminal_ || stopping || now - logged >= kLogEvery);
    if (show) logged = now;
    try {
      draw(show);
    } catch (const std::exception& error) {  // a display is never worth stopping the run for
      std::lock_guard lock(mutex_);
      std::cerr << "mat synth run: progress display: " << error.what() << "\n";
    }
    if (stopping) return;
  }
}

void SynthProgressDisplay::draw(bool show) {
  synth::LiveState live;
  live.stages = limiter_.live();
  live.target = target_;
  live.budget_usd = limiter_.limits().budget_usd;
  synth::write_live_state(run_dir_, live);
  if (!show) return;
  // Throughput over what this process has seen, up to the window.
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  const auto window = std::clamp(elapsed, std::chrono::seconds(1), kThroughputWindow);
  const std::string text =
      synth::progress_text(synth::read_progress(run_dir_, store_, window, &live));
  std::lock_guard lock(mutex_);  // not while reading: unit lines must not wait for the store
  if (terminal_) {
    // Back to the display's first line, then redraw it and clear what is left below.
    for (int i = 0; i < drawn_lines_; ++i) std::cerr << "\033[F";
    std::string redrawn;
    for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
         start = end + 1) {
      redrawn += "\033[K" + text.substr(start, end - start + 1);
    }
    std::cerr << redrawn << "\033[J" << std::flush;
    drawn_lines_ = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  } else {
    std::cerr << "progress: " << text << std::flush;
  }
}

}  // namespace mat::cli

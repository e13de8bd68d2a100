// Keeps the trajectory record on disk while a run is in progress: written when the run starts
// and after every step with end_reason "interrupted", then overwritten by the final record. If
// mat is stopped (Ctrl-C, a kill, a crash) the file still says what happened up to then.
#pragma once

#include <filesystem>

#include "mat/agent/agent.h"

namespace mat::cli {

// Forwards every event to `next` (may be null) and checkpoints the record to `path`.
class RecordCheckpoint : public agent::RunObserver {
 public:
  RecordCheckpoint(std::filesystem::path path, agent::RunObserver* next)
      : path_(std::move(path)), next_(next) {}

  void on_run_start(const agent::Trajectory& t) override {
    if (next_) next_->on_run_start(t);
  }
  void on_step_start(int index) override {
    if (next_) next_->on_step_start(index);
  }
  void on_model_token(std::string_view piece) override {
    if (next_) next_->on_model_token(piece);
  }
  void on_model_reply(const agent::Step& step) override {
    if (next_) next_->on_model_reply(step);
  }
  void on_step_end(const agent::Step& step) override {
    if (next_) next_->on_step_end(step);
  }
  void on_limit_reached(std::string_view reason) override {
    if (next_) next_->on_limit_reached(reason);
  }
  void on_run_end(const agent::Trajectory& t) override {
    if (next_) next_->on_run_end(t);
  }
  void on_record_updated(const agent::Trajectory& partial) override;

 private:
  std::filesystem::path path_;
  agent::RunObserver* next_;
};

}  // namespace mat::cli

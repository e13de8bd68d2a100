// Shows a run live in the terminal: streamed model text, then each observation or error.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "mat/agent/agent.h"

namespace mat::cli {

// `text` with control characters other than newline and tab written as \xNN: text from the model
// or from the model's code must not move the cursor, retitle the window or hide what came before.
std::string printable(std::string_view text);

class TerminalObserver : public agent::RunObserver {
 public:
  // `out` receives the steps; `color` adds ANSI styling to headers (for terminals).
  TerminalObserver(std::FILE* out, bool color) : out_(out), color_(color) {}

  void on_run_start(const agent::Trajectory& t) override;
  void on_step_start(int index) override;
  void on_model_token(std::string_view piece) override;
  void on_model_reply(const agent::Step& step) override;
  void on_step_end(const agent::Step& step) override;
  void on_limit_reached(std::string_view end_reason) override;
  void on_run_end(const agent::Trajectory& t) override;

 private:
  void header(const std::string& text);
  void labelled(const char* label, const std::string& text);

  std::FILE* out_;
  bool color_;
  bool streamed_ = false;  // tokens of the current reply were printed as they arrived
};

}  // namespace mat::cli

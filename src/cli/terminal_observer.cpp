#include "terminal_observer.h"

#include <cstdio>
#include <string>

namespace mat::cli {
namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kReset = "\033[0m";

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

void TerminalObserver::header(const std::string& text) {
  std::fprintf(out_, "%s%s%s\n", color_ ? kBold : "", text.c_str(), color_ ? kReset : "");
}

void TerminalObserver::labelled(const char* label, const std::string& text) {
  const bool error = std::string_view(label) == "Error";
  std::fprintf(out_, "%s%s:%s\n%s\n", color_ ? (error ? kRed : kBold) : "", label,
               color_ ? kReset : "", printable(text).c_str());
}

void TerminalObserver::on_run_start(const agent::Trajectory& t) {
  std::fprintf(out_, "%srun %s · model %s · prompt %s%s\n", color_ ? kDim : "", t.id.c_str(),
               t.model.name.c_str(), t.prompt_version.c_str(), color_ ? kReset : "");
}

void TerminalObserver::on_step_start(int index) {
  streamed_ = false;
  header("── Step " + std::to_string(index) + " ──");
}

void TerminalObserver::on_model_token(std::string_view piece) {
  streamed_ = true;
  const std::string shown = printable(piece);
  std::fwrite(shown.data(), 1, shown.size(), out_);
  std::fflush(out_);
}

void TerminalObserver::on_model_reply(const agent::Step& step) {
  if (streamed_) {
    std::fputc('\n', out_);
  } else {
    std::fprintf(out_, "%s\n", printable(step.raw).c_str());
  }
  streamed_ = false;
  std::fflush(out_);
}

void TerminalObserver::on_step_end(const agent::Step& step) {
  if (step.observation && !step.observation->empty()) labelled("Observation", *step.observation);
  if (step.error) labelled("Error", *step.error);
  std::fprintf(out_, "%s[model %.0f ms · exec %.0f ms · tokens %lld in, %lld out]%s\n",
               color_ ? kDim : "", step.model_ms, step.exec_ms,
               static_cast<long long>(step.tokens_in), static_cast<long long>(step.tokens_out),
               color_ ? kReset : "");
  std::fflush(out_);
}

void TerminalObserver::on_limit_reached(std::string_view end_reason) {
  header("── Limit reached (" + std::string(end_reason) + "): asking for a best answer ──");
}

void TerminalObserver::on_run_end(const agent::Trajectory&) {
  if (streamed_) std::fputc('\n', out_);  // the best answer streamed without a final newline
  std::fflush(out_);
}

}  // namespace mat::cli

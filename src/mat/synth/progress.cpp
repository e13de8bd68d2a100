#include "mat/synth/progress.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "mat/core/error.h"
#include "mat/core/utc_time.h"
#include "mat/synth/pipeline.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
constexpr std::chrono::seconds kFreshFor{30};  // a progress file older than this is a dead run's
constexpr int kTopReasons = 3;

std::string utc_at(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), core::kIsoUtc, &tm);
  return text;
}

// The live state a running process left, when it is fresh and the process is still there.
std::optional<LiveState> read_live_state(const fs::path& run_dir) {
  const fs::path path = run_dir / kProgressFile;
  std::error_code error;
  const auto written = fs::last_write_time(path, error);
  if (error || fs::file_time_type::clock::now() - written > kFreshFor) return std::nullopt;
  const Json json = core::parse_untrusted_json(core::read_file(path)).value_or(Json());
  if (!json.is_object()) return std::nullopt;
  const auto pid = json.value("pid", 0);
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return std::nullopt;
  LiveState live;
  live.target = json.value("target", std::int64_t{0});
  if (json.contains("budget_usd") && json["budget_usd"].is_number()) {
    live.budget_usd = json["budget_usd"].get<double>();
  }
  const Json in_flight = json.value("in_flight", Json::object());  // items() must not outlive it
  for (const auto& [stage, value] : in_flight.items()) {
    if (value.is_number_integer()) live.stages[stage].in_flight = value.get<std::int64_t>();
  }
  return live;
}

std::string duration_text(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(total / 3600),
                  static_cast<long long>(total % 3600 / 60));
  } else {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return text;
}

}  // namespace

Progress read_progress(const fs::path& run_dir, Store& store, std::chrono::seconds window,
                       const LiveState* live) {
  std::optional<LiveState> read;
  if (live == nullptr) {
    read = read_live_state(run_dir);
    if (read) live = &*read;
  }
  Progress progress;
  progress.running = live != nullptr;
  progress.counts = store.counts();
  progress.tasks = progress.counts.tasks;
  progress.duplicates = progress.counts.duplicates;
  progress.target = live != nullptr && live->target > 0 ? live->target : progress.tasks;
  if (live != nullptr) progress.budget_usd = live->budget_usd;
  const std::string since = utc_at(std::chrono::system_clock::now() - window);
  const double minutes = std::max(1.0, static_cast<double>(window.count())) / 60;

  StageProgress queries;
  queries.name = stage::kQueries;
  queries.by_status = progress.counts.batches;
  progress.stages.push_back(queries);
  for (const std::string& name : task_stages()) {
    StageProgress stage;
    stage.name = name;
    const auto counts = progress.counts.stages.find(name);
    if (counts != progress.counts.stages.end()) stage.by_status = counts->second;
    stage.per_minute = static_cast<double>(store.finished_since(name, since)) / minutes;
    stage.top_reasons = store.top_reasons(name, kTopReasons);
    progress.stages.push_back(stage);
  }
  for (StageProgress& stage : progress.stages) {
    const auto usage = progress.counts.usage.find(stage.name);
    if (usage != progress.counts.usage.end()) stage.usage = usage->second;
    if (live != nullptr) {
      const auto in_flight = live->stages.find(stage.name);
      if (in_flight != live->stages.end()) stage.in_flight = in_flight->second.in_flight;
    }
  }
  const std::string& last = task_stages().back();
  const auto accepted = progress.counts.stages.find(last);
  if (accepted != progress.counts.stages.end()) {
    const auto it = accepted->second.find(status::kAccepted);
    if (it != accepted->second.end()) progress.accepted = it->second;
  }
  progress.through = store.tasks_through(last, "");
  const double through_per_minute = static_cast<double>(store.tasks_through(last, since)) / minutes;
  const std::int64_t left = progress.target - progress.through;
  if (left <= 0) {
    progress.eta_seconds = 0;
  } else if (through_per_minute > 0) {
    progress.eta_seconds = static_cast<double>(left) / through_per_minute * 60;
  }
  return progress;
}

Json progress_json(const Progress& progress) {
  Json stages = Json::object();
  for (const StageProgress& stage : progress.stages) {
    Json row = Json::object();
    std::int64_t total = 0, passed = 0;
    for (const auto& [status, n] : stage.by_status) {
      row[status] = n;
      total += n;
      if (status != status::kRejected && status != status::kFailed) passed += n;
    }
    row["total"] = total;
    row["pass_rate"] = total == 0 ? Json() : Json(static_cast<double>(passed) / total);
    row["in_flight"] = stage.in_flight;
    row["per_minute"] = stage.per_minute;
    row["calls"] = stage.usage.calls;
    row["tokens_in"] = stage.usage.tokens_in;
    row["tokens_out"] = stage.usage.tokens_out;
    row["cost_usd"] = stage.usage.cost_usd;
    Json reasons = Json::array();
    for (const auto& [reason, n] : stage.top_reasons) {
      reasons.push_back({{"reason", reason}, {"count", n}});
    }
    row["top_reasons"] = reasons;
    stages[stage.name] = row;
  }
  return {{"tasks", progress.tasks},
          {"duplicates", progress.duplicates},
          {"target", progress.target},
          {"through", progress.through},
          {"batches", progress.counts.batches},
          {"stages", stages},
          {"accepted", progress.accepted},
          {"teacher_calls", progress.counts.calls},
          {"tokens_in", progress.counts.tokens_in},
          {"tokens_out", progress.counts.tokens_out},
          {"cost_usd", progress.counts.cost_usd},
          {"budget_usd", progress.budget_usd ? Json(*progress.budget_usd) : Json()},
          {"eta_seconds", progress.eta_seconds ? Json(*progress.eta_seconds) : Json()},
          {"running", progress.running}};
}

std::string progress_text(const Progress& progress) {
  char line[512];
  char budget[64] = "";
  if (progress.budget_usd) std::snprintf(budget, sizeof(budget), " of $%.2f", *progress.budget_usd);
  std::string text;
  std::snprintf(
      line, sizeof(line),
      "tasks %lld of %lld through, %lld accepted; %lld calls, %lld+%lld tokens, "
      "$%.4f%s; ETA %s\n",
      static_cast<long long>(progress.through), static_cast<long long>(progress.target),
      static_cast<long long>(progress.accepted), static_cast<long long>(progress.counts.calls),
      static_cast<long long>(progress.counts.tokens_in),
      static_cast<long long>(progress.counts.tokens_out), progress.counts.cost_usd, budget,
      progress.eta_seconds ? duration_text(*progress.eta_seconds).c_str() : "unknown");
  text += line;
  for (const StageProgress& stage : progress.stages) {
    std::string counts;
    std::int64_t done = 0;
    for (const auto& [status, n] : stage.by_status) {
      counts += " " + status + " " + std::to_string(n);
      done += n;
    }
    std::snprintf(
        line, sizeof(line), "  %-18s done %6lld, in flight %3lld,%s; %.1f/min; %lld calls, $%.4f\n",
        stage.name.c_str(), static_cast<long long>(done), static_cast<long long>(stage.in_flight),
        counts.empty() ? " -" : counts.c_str(), stage.per_minute,
        static_cast<long long>(stage.usage.calls), stage.usage.cost_usd);
    text += line;
    for (const auto& [reason, n] : stage.top_reasons) {
      text += "      " + std::to_string(n) + "× " + reason.substr(0, 160) + "\n";
    }
  }
  return text;
}

void write_live_state(const fs::path& run_dir, const LiveState& live) {
  Json in_flight = Json::object();
  for (const auto& [stage, state] : live.stages) in_flight[stage] = state.in_flight;
  core::write_json_file(run_dir / kProgressFile,
                        {{"pid", static_cast<std::int64_t>(::getpid())},
                         {"target", live.target},
                         {"budget_usd", live.budget_usd ? Json(*live.budget_usd) : Json()},
                         {"in_flight", in_flight},
                         {"updated_at", core::utc_now()}});
}

}  // namespace mat::synth

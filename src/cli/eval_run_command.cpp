#include "eval_run_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/core/json.h"
#include "mat/core/utc_time.h"
#include "mat/eval/eval_task.h"
#include "mat/eval/gaia_scorer.h"
#include "mat/eval/gta_scorer.h"
#include "mat/eval/report_render.h"
#include "mat/eval/run_report.h"
#include "mat/eval/runner.h"
#include "mat/llm/openai_embedder.h"
#include "mat/tools/registry.h"
#include "model_setup.h"
#include "run_paths.h"
#include "terminal_observer.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr const char* kManifest = "run.json";

struct EmbeddingSettings {
  std::string model;
  std::string url;
};

struct EvalRunSettings {
  std::string benchmark;  // "gta" or "gaia"
  std::string data;
  std::string out;
  int jobs = 1;
  std::optional<std::size_t> limit;
  std::vector<std::string> ids;
  bool retry_errors = false;
  bool quiet = false;
  EmbeddingSettings embedding;
  ModelSettings model;
};

// A problem the user must fix before anything runs: exit 2 with the message.
class UsageProblem : public core::Error {
 public:
  using core::Error::Error;
};

void refuse_problems(const std::string& what, const std::vector<eval::EntryProblem>& problems) {
  if (problems.empty()) return;
  std::string message = what + " has " + std::to_string(problems.size()) + " malformed entr" +
                        (problems.size() == 1 ? "y" : "ies") + "; fix them and run again:";
  for (const eval::EntryProblem& problem : problems) {
    message += "\n  " + problem.entry + ": " + problem.message;
  }
  throw UsageProblem(message);
}

std::string percent_text(int part, int whole) {
  if (whole == 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * part / whole);
  return text;
}

// ---- the benchmark, loaded once ---------------------------------------------------------------

// One benchmark's data and how to score one answer of it.
struct Benchmark {
  std::string name;  // "gta", "gaia"
  std::optional<eval::GtaDataset> gta;
  std::optional<eval::GaiaDataset> gaia;
  std::vector<eval::EvalTask> tasks;

  static Benchmark load(const std::string& name, const fs::path& relative) {
    const fs::path data = fs::absolute(relative).lexically_normal();
    Benchmark b;
    b.name = name;
    try {
      if (name == "gta") {
        b.gta = eval::load_gta(data);
        refuse_problems("the GTA dataset " + data.string(), b.gta->problems);
        b.tasks = eval::gta_tasks(*b.gta);
      } else {
        b.gaia = eval::load_gaia(data);
        refuse_problems("the GAIA metadata " + data.string(), b.gaia->problems);
        b.tasks = eval::gaia_tasks(*b.gaia);
      }
    } catch (const UsageProblem&) {
      throw;
    } catch (const core::Error& e) {
      throw UsageProblem(e.what());
    }
    return b;
  }

  // The record's verdicts: GTA objective {official, mat}; GAIA {correct}; {} otherwise.
  Json verdicts(const std::string& id, const std::optional<std::string>& answer) const {
    if (gta) {
      for (const eval::GtaQuery& q : gta->queries) {
        if (q.id != id || q.kind != eval::GtaAnswerKind::kObjective) continue;
        const std::string text = answer.value_or("");
        return {{"official", eval::official_correct(text, q.whitelist, q.blacklist)},
                {"mat", eval::mat_correct(text, q.whitelist)}};
      }
      return Json::object();
    }
    for (const eval::GaiaTask& t : gaia->tasks) {
      if (t.id == id) return {{"correct", eval::gaia_correct(answer, t.final_answer)}};
    }
    return Json::object();
  }

  // The report over the tasks `ids` (the run's selection).
  Json report(const fs::path& run_dir, const std::vector<std::string>& ids,
              const eval::RunRecords& records, llm::Embedder* embedder) const {
    const std::set<std::string> wanted(ids.begin(), ids.end());
    if (gta) {
      eval::GtaDataset subset;
      subset.dir = gta->dir;
      for (const eval::GtaQuery& q : gta->queries) {
        if (wanted.contains(q.id)) subset.queries.push_back(q);
      }
      Json report = eval::gta_report(subset, records, embedder);
      report["run_dir"] = fs::absolute(run_dir).string();
      return report;
    }
    eval::GaiaDataset subset;
    subset.dir = gaia->dir;
    for (const eval::GaiaTask& t : gaia->tasks) {
      if (wanted.contains(t.id)) subset.tasks.push_back(t);
    }
    Json report = eval::gaia_report(subset, records);
    report["run_dir"] = fs::absolute(run_dir).string();
    return report;
  }
};

std::unique_ptr<llm::Embedder> embedder_from(const EmbeddingSettings& s) {
  if (s.model.empty()) return nullptr;
  llm::OpenAIConfig config = llm::OpenAIConfig::from_env();
  if (!s.url.empty()) config.base_url = s.url;
  config.model = s.model;
  try {
    return std::make_unique<llm::OpenAIEmbedder>(config);
  } catch (const core::Error& e) {
    throw UsageProblem(e.what());
  }
}

// Writes the run's report from its records; returns it. Subjective scoring that fails is left
// out with a warning rather than losing the report.
Json write_report(const Benchmark& benchmark, const fs::path& run_dir,
                  const std::vector<std::string>& ids, const EmbeddingSettings& embedding) {
  const eval::RunRecords records = eval::load_run_records(run_dir, benchmark.name, ids);
  const std::unique_ptr<llm::Embedder> embedder = embedder_from(embedding);
  Json report;
  try {
    report = benchmark.report(run_dir, ids, records, embedder.get());
  } catch (const llm::ModelError& e) {
    std::cerr << "mat eval: scoring the subjective answers failed (" << e.what()
              << "); the report leaves them unscored\n";
    report = benchmark.report(run_dir, ids, records, nullptr);
  }
  eval::write_run_report(run_dir, report, records);
  return report;
}

void print_metrics(const Json& report, const fs::path& run_dir) {
  for (const Json& metric : report["metrics"]) {
    const Json& entry = report["overall"][metric["key"].get<std::string>()];
    std::string value = "n/a";
    if (entry["value"].is_number()) {
      char text[96];
      if (metric["unit"] == "%") {
        std::snprintf(text, sizeof(text), "%.2f %% (%s/%s)", entry["value"].get<double>(),
                      entry["numerator"].dump().c_str(), entry["denominator"].dump().c_str());
      } else {
        std::snprintf(text, sizeof(text), "%.2f %s", entry["value"].get<double>(),
                      metric["unit"].get<std::string>().c_str());
      }
      value = text;
    }
    std::cout << "  " << metric["label"].get<std::string>() << ": " << value << "\n";
  }
  std::cout << "report: " << (run_dir / "report.html").string() << "\n";
}

// ---- the run folder's manifest ----------------------------------------------------------------

// Refuses a run folder that holds another benchmark's or another model's run (its records would
// be mixed with these), then records this run's settings in it.
void check_and_write_manifest(const EvalRunSettings& s, const std::vector<std::string>& ids) {
  const fs::path path = fs::path(s.out) / kManifest;
  Json manifest = Json::object();
  std::error_code error;
  if (fs::exists(path, error)) {
    try {
      manifest = core::read_json_file(path);
    } catch (const core::Error& e) {
      throw UsageProblem(std::string(e.what()) + ": the run folder's " + kManifest +
                         " is damaged; use a new --out");
    }
    const std::string benchmark = manifest.value("benchmark", "");
    const std::string model = manifest.value("model", "");
    if (benchmark != s.benchmark) {
      throw UsageProblem("--out " + s.out + " holds a " + benchmark + " run: use another folder");
    }
    if (model != s.model.model) {
      throw UsageProblem("--out " + s.out + " holds a run of the model '" + model +
                         "': resume it with --model " + model +
                         ", or give this model a folder of its own");
    }
  } else {
    manifest["created_at"] = core::utc_now();
  }
  manifest["benchmark"] = s.benchmark;
  manifest["data"] = fs::absolute(s.data).string();
  manifest["model"] = s.model.model;
  manifest["base_url"] = s.model.base_url;
  manifest["max_steps"] = s.model.max_steps;
  manifest["max_errors"] = s.model.max_errors;
  manifest["prompt_template"] = s.model.prompt_template;
  manifest["ids"] = ids;
  manifest["updated_at"] = core::utc_now();
  try {
    fs::create_directories(s.out);
    core::write_json_file(path, manifest);
  } catch (const std::exception& e) {
    throw UsageProblem("cannot write " + path.string() + ": " + e.what());
  }
}

// ---- progress ---------------------------------------------------------------------------------

// One line per finished task with the running accuracy over every task with a record.
class Progress {
 public:
  Progress(std::size_t total, bool quiet) : total_(total), quiet_(quiet) {}

  void on_done(const eval::TaskOutcome& outcome) {
    ++done_;
    const Json& verdicts = outcome.record.verdicts;
    // A task cut short by a signal runs again: it is not scored until then.
    const bool scored = outcome.record.end_reason != agent::end_reason::kInterrupted;
    if (scored && verdicts.contains("official")) {
      ++objective_;
      official_ += verdicts["official"].get<bool>();
      mat_ += verdicts["mat"].get<bool>();
    } else if (scored && verdicts.contains("correct")) {
      ++objective_;
      official_ += verdicts["correct"].get<bool>();
    }
    if (outcome.skipped) {
      ++skipped_;
      return;
    }
    if (!announced_skipped_ && skipped_ > 0 && !quiet_) {
      std::cerr << "resuming: " << skipped_ << " task(s) already have a complete record\n";
    }
    announced_skipped_ = true;
    if (quiet_) return;
    const agent::Trajectory& t = outcome.record;
    char head[64];
    std::snprintf(head, sizeof(head), "[%*zu/%zu] ",
                  static_cast<int>(std::to_string(total_).size()), done_, total_);
    std::string line = head + printable(outcome.task->id) + ": " + t.end_reason + " · " +
                       std::to_string(t.steps.size()) + " step(s) · ";
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.1f s", t.wall_ms / 1000);
    line += seconds;
    if (verdicts.contains("official")) {
      line += std::string(" · official ") + (verdicts["official"].get<bool>() ? "✓" : "✗") +
              " MAT " + (verdicts["mat"].get<bool>() ? "✓" : "✗");
    } else if (verdicts.contains("correct")) {
      line += std::string(" · ") + (verdicts["correct"].get<bool>() ? "✓" : "✗");
    }
    if (t.error && !t.succeeded()) line += " · " + printable(t.error->substr(0, 160));
    if (outcome.write_error) line += " · RECORD NOT WRITTEN: " + *outcome.write_error;
    line += " │ running AnsAcc " + running();
    std::cerr << line << std::endl;
  }

  std::string running() const {
    return "official " + percent_text(official_, objective_) +
           (has_mat_ ? " · MAT " + percent_text(mat_, objective_) : "") + " (" +
           std::to_string(objective_) + " scored)";
  }

  void set_has_mat(bool has_mat) { has_mat_ = has_mat; }

 private:
  std::size_t total_;
  bool quiet_;
  bool has_mat_ = false;
  bool announced_skipped_ = false;
  std::size_t done_ = 0, skipped_ = 0;
  int objective_ = 0, official_ = 0, mat_ = 0;
};

// ---- commands ---------------------------------------------------------------------------------

int run_benchmark(const EvalRunSettings& s) {
  const std::string command = "mat eval " + s.benchmark;
  if (auto message = missing_endpoint_message(s.model, command)) {
    std::cerr << *message << "\n";
    return 2;
  }
  if (auto reason = forbidden_work_dir(s.out)) {
    std::cerr << command << ": --out: " << *reason << "; give the run a folder of its own\n";
    return 2;
  }
  std::optional<Benchmark> benchmark;
  std::vector<eval::EvalTask> tasks;
  std::vector<std::string> ids;
  std::vector<eval::TaskRunner> runners;
  try {
    benchmark = Benchmark::load(s.benchmark, s.data);
    try {
      tasks = eval::select_tasks(benchmark->tasks, s.ids, s.limit);
    } catch (const core::Error& e) {
      throw UsageProblem(e.what());
    }
    if (tasks.empty()) throw UsageProblem("no task selected: check --ids and --limit");
    for (const eval::EvalTask& task : tasks) ids.push_back(task.id);
    check_and_write_manifest(s, ids);
    embedder_from(s.embedding);  // a bad embedding address is said now, not after the run
    // One model, tool set and agent per job: nothing is shared between parallel runs.
    for (int job = 0; job < std::max(1, std::min<int>(s.jobs, static_cast<int>(tasks.size())));
         ++job) {
      struct Worker {
        ModelSetup setup;
        std::unique_ptr<agent::Agent> agent;
      };
      auto worker = std::make_shared<Worker>(Worker{make_model_setup(s.model), nullptr});
      worker->agent = std::make_unique<agent::Agent>(*worker->setup.model, worker->setup.registry,
                                                     worker->setup.prompt, agent_options(s.model));
      runners.push_back([worker](const agent::Task& task, const agent::RunPaths& paths) {
        return worker->agent->run(task, paths);
      });
    }
  } catch (const UsageProblem& e) {
    std::cerr << command << ": " << e.what() << "\n";
    return 2;
  } catch (const core::Error& e) {
    std::cerr << command << ": " << e.what() << "\n";
    return 2;
  }

  std::size_t missing = 0;
  std::string missing_example;
  for (const eval::EvalTask& task : tasks) {
    if (!task.missing) continue;
    if (missing++ == 0) missing_example = task.id + ": " + *task.missing;
  }
  if (missing > 0) {
    std::cerr << command << ": " << missing << " of " << tasks.size()
              << " task(s) need files that are not on disk and will fail (e.g. " << missing_example
              << "); the others run\n";
  }

  core::install_interrupt_handlers();
  Progress progress(tasks.size(), s.quiet);
  progress.set_has_mat(s.benchmark == "gta");
  const eval::RunSummary summary = eval::run_tasks(
      s.benchmark, tasks, s.out, {.jobs = s.jobs, .retry_errors = s.retry_errors},
      std::move(runners),
      [&](const eval::EvalTask& task, const agent::Trajectory& record) {
        return benchmark->verdicts(task.id, record.final_answer);
      },
      [&](const eval::TaskOutcome& outcome) { progress.on_done(outcome); });

  if (summary.ran == 0 && summary.skipped > 0 && !s.quiet) {
    std::cerr << "resuming: all " << summary.skipped
              << " task(s) already have a complete record; nothing left to run\n";
  }
  Json report;
  try {
    report = write_report(*benchmark, s.out, ids, s.embedding);
  } catch (const std::exception& e) {
    std::cerr << command << ": the report could not be written: " << e.what() << "\n";
    return 1;
  }
  const std::size_t unfinished = report["not_run"].size();
  std::size_t incomplete = 0;
  for (const Json& row : report["task_rows"]) {
    const std::string end = row["end_reason"];
    incomplete += end == agent::end_reason::kInterrupted || end == agent::end_reason::kInputError;
  }
  std::cout << s.benchmark << " run in " << s.out << ": " << summary.ran << " task(s) run, "
            << summary.skipped << " already complete\n";
  print_metrics(report, s.out);
  if (summary.interrupted || core::interrupt_requested()) {
    std::cerr << command << ": interrupted; run the same command again to finish the "
              << (unfinished + incomplete) << " task(s) left\n";
    return 128 + (core::interrupt_signal() != 0 ? core::interrupt_signal() : 2);
  }
  if (unfinished + incomplete > 0) {
    std::cerr << command << ": " << (unfinished + incomplete)
              << " task(s) did not complete (see their errors in the report); run the same "
                 "command again to retry them\n";
    return 1;
  }
  return 0;
}

struct ReportSettings {
  std::string run_dir;
  EmbeddingSettings embedding;
};

int rewrite_report(const ReportSettings& s) {
  try {
    const Json manifest = core::read_json_file(fs::path(s.run_dir) / kManifest);
    const std::string name = manifest.value("benchmark", "");
    if (name != "gta" && name != "gaia") {
      throw UsageProblem(s.run_dir + "/" + kManifest + " names no benchmark (gta or gaia)");
    }
    const Benchmark benchmark = Benchmark::load(name, manifest.value("data", ""));
    const Json report = write_report(
        benchmark, s.run_dir, manifest.value("ids", std::vector<std::string>()), s.embedding);
    print_metrics(report, s.run_dir);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mat eval report: " << e.what() << "\n";
    return 2;
  }
}

struct CompareSettings {
  std::vector<std::string> run_dirs;
  std::vector<std::string> labels;
  std::string out;
};

int compare(const CompareSettings& s) {
  try {
    if (!s.labels.empty() && s.labels.size() != s.run_dirs.size()) {
      throw UsageProblem("give one --label per run folder (" + std::to_string(s.run_dirs.size()) +
                         "), or none");
    }
    std::vector<Json> reports;
    std::vector<std::string> labels;
    std::vector<fs::path> dirs;
    for (size_t i = 0; i < s.run_dirs.size(); ++i) {
      const fs::path dir = s.run_dirs[i];
      const fs::path report = dir / "report.json";
      if (!fs::exists(report)) {
        throw UsageProblem("no report.json in " + dir.string() +
                           ": write it with `mat eval report " + dir.string() + "`");
      }
      reports.push_back(core::read_json_file(report));
      dirs.push_back(dir);
      std::string label =
          s.labels.empty() ? fs::absolute(dir).lexically_normal().filename().string() : s.labels[i];
      if (label.empty()) label = dir.string();
      labels.push_back(label);
    }
    if (s.labels.empty()) {  // folder names that repeat say nothing: use the paths then
      const std::set<std::string> unique(labels.begin(), labels.end());
      if (unique.size() != labels.size()) {
        for (size_t i = 0; i < labels.size(); ++i) labels[i] = dirs[i].string();
      }
    }
    fs::create_directories(s.out);
    const Json comparison = eval::compare_reports(reports, labels, dirs, s.out);
    core::write_json_file(fs::path(s.out) / "compare.json", comparison);
    const std::string md = eval::compare_markdown(comparison);
    for (const auto& [name, text] :
         {std::pair<std::string, std::string>{"compare.md", md},
          std::pair<std::string, std::string>{"compare.html", eval::compare_html(comparison)}}) {
      std::FILE* file = std::fopen((fs::path(s.out) / name).c_str(), "wb");
      if (file == nullptr || std::fwrite(text.data(), 1, text.size(), file) != text.size()) {
        if (file) std::fclose(file);
        throw core::Error("cannot write " + (fs::path(s.out) / name).string());
      }
      std::fclose(file);
    }
    std::cout << md << "\ncomparison: " << (fs::path(s.out) / "compare.html").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mat eval compare: " << e.what() << "\n";
    return 2;
  }
}

void add_embedding_options(CLI::App& cmd, EmbeddingSettings& s) {
  cmd.add_option("--embedding-model", s.model,
                 "GTA: score the subjective answers by cosine similarity with this embedding "
                 "model (the official evaluator uses all-mpnet-base-v2); unscored without it");
  cmd.add_option("--embedding-url", s.url,
                 "The OpenAI-compatible server of the embedding model, up to /v1 (default: "
                 "OPENAI_BASE_URL)");
}

void add_benchmark_command(CLI::App& eval, const std::string& name, int& exit_code) {
  auto s = std::make_shared<EvalRunSettings>();
  s->benchmark = name;
  const bool gta = name == "gta";
  CLI::App* cmd =
      eval.add_subcommand(name, "Run the agent on every " + std::string(gta ? "GTA" : "GAIA") +
                                    " task into a run folder (resumable) and report the metrics");
  cmd->add_option("--data", s->data,
                  gta ? "GTA's dataset.json or its folder (with image/ beside it)"
                      : "GAIA's metadata.jsonl or its folder (attachments beside it)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("-o,--out", s->out,
                  "The run folder: one record per task under tasks/, run.json, report.*; run "
                  "again with the same folder to resume")
      ->required();
  cmd->add_option("-j,--jobs", s->jobs, "Tasks run in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--limit", s->limit, "Run only the first N tasks (after --ids)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  cmd->add_option("--ids", s->ids,
                  gta ? "Run only these queries (dataset keys, comma-separated)"
                      : "Run only these tasks (task_id, comma-separated)")
      ->delimiter(',');
  cmd->add_flag("--retry-errors", s->retry_errors,
                "Also run again the tasks that ended in a model, sandbox or internal error");
  cmd->add_flag("-q,--quiet", s->quiet, "No progress lines, only the metrics at the end");
  add_embedding_options(*cmd, s->embedding);
  add_model_options(*cmd, s->model);
  cmd->callback([s, &exit_code] { exit_code = run_benchmark(*s); });
}

}  // namespace

void add_eval_run_commands(CLI::App& eval, int& exit_code) {
  add_benchmark_command(eval, "gta", exit_code);
  add_benchmark_command(eval, "gaia", exit_code);

  auto report = std::make_shared<ReportSettings>();
  CLI::App* report_cmd =
      eval.add_subcommand("report", "Write a run folder's report again from its records");
  report_cmd->add_option("run_dir", report->run_dir, "The run folder (of mat eval gta|gaia)")
      ->required()
      ->check(CLI::ExistingDirectory);
  add_embedding_options(*report_cmd, report->embedding);
  report_cmd->callback([report, &exit_code] { exit_code = rewrite_report(*report); });

  auto cmp = std::make_shared<CompareSettings>();
  CLI::App* compare_cmd = eval.add_subcommand(
      "compare", "Put runs of one benchmark side by side (compare.json, .md and .html)");
  compare_cmd->add_option("run_dirs", cmp->run_dirs, "Run folders with a report.json")
      ->required()
      ->check(CLI::ExistingDirectory);
  compare_cmd->add_option("-o,--out", cmp->out, "Where to write compare.json, .md and .html")
      ->required();
  compare_cmd->add_option("--label", cmp->labels, "A name per run (default: its folder's name)");
  compare_cmd->callback([cmp, &exit_code] { exit_code = compare(*cmp); });
}

}  // namespace mat::cli

#include "run_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "mat/agent/agent.h"
#include "mat/core/interrupt.h"
#include "mat/core/json.h"
#include "mat/llm/openai_client.h"
#include "model_setup.h"
#include "record_checkpoint.h"
#include "run_paths.h"
#include "terminal_observer.h"

namespace mat::cli {
namespace {

namespace fs = std::filesystem;

struct RunSettings {
  std::string task;
  std::vector<std::string> files;
  std::string out;
  std::string run_dir;
  std::string work_dir;
  bool reuse_work_dir = false;
  bool quiet = false;
  ModelSettings model;
};

// "2 steps · 3.4 s · tokens 1200 in, 80 out · final_answer"
std::string summary(const agent::Trajectory& t) {
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  for (const agent::Step& step : t.steps) {
    tokens_in += step.tokens_in;
    tokens_out += step.tokens_out;
  }
  if (t.best_answer_request) {
    tokens_in += t.best_answer_request->tokens_in;
    tokens_out += t.best_answer_request->tokens_out;
  }
  char text[160];
  std::snprintf(text, sizeof(text), "%zu step%s · %.1f s · tokens %lld in, %lld out · %s",
                t.steps.size(), t.steps.size() == 1 ? "" : "s", t.wall_ms / 1000.0,
                static_cast<long long>(tokens_in), static_cast<long long>(tokens_out),
                t.end_reason.c_str());
  return text;
}

// A usage or configuration problem: said on stderr, exit 2, before anything runs.
int usage_error(const std::string& message) {
  std::cerr << "mat run: " << message << "\n";
  return 2;
}

int run(const RunSettings& s) {
  ModelSettings model_settings = s.model;
  if (auto embedded = embedded_controller_settings(s.model)) {
    std::cerr << "mat run: no model endpoint is configured: running the embedded controller "
              << embedded->weights
              << " in process (a tiny model `make run` trained offline on synthetic tasks: it "
                 "shows the mechanism, it is no capable agent; set OPENAI_BASE_URL or pass "
                 "--weights for a real one)\n";
    model_settings = std::move(*embedded);
  }
  if (auto message = missing_endpoint_message(model_settings, "mat run")) {
    std::cerr << *message << "\n";
    return 2;
  }
  std::optional<ModelSetup> setup;
  try {
    setup = make_model_setup(model_settings);
  } catch (const core::Error& e) {
    return usage_error(e.what());
  }

  agent::Task task;
  task.id = agent::make_run_id();
  task.text = s.task;
  for (const std::string& file : s.files) task.files.emplace_back(file);
  const fs::path run_dir = s.run_dir.empty() ? fs::path("mat-runs") / task.id : fs::path(s.run_dir);
  agent::RunPaths paths = agent::RunPaths::under(run_dir);
  if (!s.work_dir.empty()) paths.work_dir = s.work_dir;
  const fs::path out = s.out.empty() ? run_dir / "trajectory.json" : fs::path(s.out);
  if (auto problem = unusable_work_dir(paths.work_dir, s.reuse_work_dir)) {
    return usage_error(*problem);
  }
  if (auto problem = bad_record_path(out, paths.work_dir)) return usage_error(*problem);
  if (is_inside(run_dir, paths.work_dir)) {
    return usage_error("the run dir '" + run_dir.string() + "' is inside the work dir '" +
                       paths.work_dir.string() +
                       "', where the model's code could change what the host keeps: use "
                       "separate folders");
  }
  try {
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
  } catch (const std::exception& e) {
    return usage_error("cannot create the folder for --out '" + out.string() + "': " + e.what());
  }

  core::install_interrupt_handlers();
  agent::Agent agent(*setup->model, setup->registry, std::move(setup->prompt),
                     agent_options(model_settings));
  TerminalObserver terminal(stdout, ::isatty(STDOUT_FILENO) != 0);
  RecordCheckpoint checkpoint(out, s.quiet ? nullptr : &terminal);
  const agent::Trajectory t = agent.run(task, paths, &checkpoint);
  try {
    core::write_json_file(out, t.to_json());
  } catch (const std::exception& e) {
    std::cerr << "mat run: " << e.what() << "\n" << t.to_json().dump(2) << "\n";
    return 1;
  }
  if (t.error) std::cerr << "mat run: " << t.end_reason << ": " << printable(*t.error) << "\n";
  std::cerr << summary(t) << " · trajectory: " << out.string() << "\n";
  if (t.final_answer) {
    std::cout << "Final answer: " << printable(*t.final_answer) << std::endl;
  }
  if (t.end_reason == agent::end_reason::kInterrupted) return 128 + core::interrupt_signal();
  return t.succeeded() ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto settings = std::make_shared<RunSettings>();
  CLI::App* cmd = app.add_subcommand("run", "Run the agent on one task and write its trajectory");
  cmd->add_option("task", settings->task, "The task, in words")->required();
  cmd->add_option("-f,--file", settings->files, "A file the task needs (repeatable)");
  add_model_options(*cmd, settings->model);
  cmd->add_option("-o,--out", settings->out,
                  "Where to write the trajectory record (default: RUNDIR/trajectory.json)");
  cmd->add_option("--run-dir", settings->run_dir,
                  "The run's folder: its record, the images shown to the model, and work/ "
                  "(default: mat-runs/RUN_ID)");
  cmd->add_option("--workdir", settings->work_dir,
                  "The model code's working directory, its only writable place "
                  "(default: RUNDIR/work)");
  cmd->add_flag("--reuse-workdir", settings->reuse_work_dir,
                "Allow a --workdir that is not empty; its files stay read-only for the code");
  cmd->add_flag("-q,--quiet", settings->quiet, "Print only the final answer");
  cmd->callback([settings, &exit_code] { exit_code = run(*settings); });
}

}  // namespace mat::cli

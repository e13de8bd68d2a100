// mat: Multi-modal Agent Tuning in C++. One binary, git-style subcommands.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cleanup_command.h"
#include "eval_command.h"
#include "export_dataset_command.h"
#include "generate_command.h"
#include "index_command.h"
#include "mat/core/error.h"
#include "model_command.h"
#include "pretrain_command.h"
#include "run_command.h"
#include "serve_command.h"
#include "synth_command.h"
#include "teacher_command.h"
#include "tokenizer_command.h"
#include "toml_config.h"
#include "tool_commands.h"
#include "train_command.h"

int main(int argc, char** argv) {
  // Logs (retries, warnings) go to stderr: stdout carries the run and its final-answer line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("mat"));
  CLI::App app{"mat: tool-using vision-language agents (MAT / T3-Agent) — run, tune, evaluate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(MAT_VERSION));
  // Defaults < config file < flags. Subcommand options go in a section: [run] max-steps = 12
  app.set_config("--config", "", "A TOML file of option values; flags override it");
  app.config_formatter(std::make_shared<mat::cli::TomlConfig>(app));
  int exit_code = 0;
  mat::cli::add_run_command(app, exit_code);
  mat::cli::add_tool_commands(app, exit_code);
  mat::cli::add_cleanup_command(app, exit_code);
  mat::cli::add_index_command(app, exit_code);
  mat::cli::add_eval_command(app, exit_code);
  mat::cli::add_generate_command(app, exit_code);
  mat::cli::add_serve_command(app, exit_code);
  mat::cli::add_synth_command(app, exit_code);
  mat::cli::add_teacher_command(app, exit_code);
  mat::cli::add_export_dataset_command(app, exit_code);
  mat::cli::add_train_command(app, exit_code);
  mat::cli::add_tokenizer_command(app, exit_code);
  mat::cli::add_model_command(app, exit_code);
  mat::cli::add_pretrain_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // bad usage, whatever CLI11's own code for it
  } catch (const mat::core::Error& e) {
    std::cerr << "mat: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}

#include "cleanup_command.h"

#include <iostream>
#include <memory>

#include "mat/sandbox/sandbox.h"

namespace mat::cli {

void add_cleanup_command(CLI::App& app, int& exit_code) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("cleanup",
                                     "Hand a work dir back to its owner after a run was killed "
                                     "(SIGKILL, a crash) before it could");
  cmd->add_option("dir", *dir, "The run's work dir")->required()->check(CLI::ExistingDirectory);
  cmd->callback([dir, &exit_code] {
    try {
      const size_t changed = sandbox::reclaim_work_dir(*dir);
      std::cerr << "mat cleanup: " << changed << " entr" << (changed == 1 ? "y" : "ies")
                << " handed back in '" << *dir << "'\n";
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "mat cleanup: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace mat::cli

#include "record_checkpoint.h"

#include <spdlog/spdlog.h>

namespace mat::cli {

void RecordCheckpoint::on_record_updated(const agent::Trajectory& partial) {
  core::Json record = partial.to_json();
  record["end_reason"] = agent::end_reason::kInterrupted;
  record["error"] = "the run did not finish: mat was stopped or crashed after the last step shown";
  try {
    core::write_json_file(path_, record);
  } catch (const std::exception& e) {
    // The run goes on; the final write reports the problem if it persists.
    spdlog::warn("cannot checkpoint the trajectory: {}", e.what());
  }
  if (next_) next_->on_record_updated(partial);
}

}  // namespace mat::cli

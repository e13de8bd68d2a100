#include "mat/synth/export.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "mat/agent/staging.h"
#include "mat/agent/trajectory.h"
#include "mat/core/confined_dir.h"
#include "mat/core/error.h"
#include "mat/synth/card.h"
#include "mat/synth/pipeline.h"
#include "mat/train/conversation.h"
#include "mat/train/dataset_export.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

// The agent's exact system prompts, by prompt version, as the run saved them when it started.
train::SystemPromptOptions run_system_prompts(const fs::path& run_dir) {
  train::SystemPromptOptions options;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir / "prompts", error)) {
    if (entry.path().extension() != ".json") continue;
    const Json prompt = core::read_json_file(entry.path());
    options.by_version[prompt.value("version", entry.path().stem().string())] =
        prompt.value("system_prompt", "");
  }
  return options;
}

// Copies every image the record shows (the task's attached images, under shown/task/, and the
// steps' images) from its run folder to `task_out`, under the same relative paths, so that the
// exported record, pointed at `task_out`, reads as it was recorded.
constexpr std::size_t kMaxImageBytes = std::size_t{64} << 20;  // as core::ImageLimits

void copy_task_images(const agent::Trajectory& record, const std::string& task,
                      const fs::path& task_out) {
  std::vector<std::string> paths;
  for (const agent::FileRef& file : record.files) {
    if (file.type == "image") paths.push_back(agent::shown_task_image(file));
  }
  for (const agent::Step& step : record.steps) {
    paths.insert(paths.end(), step.images.begin(), step.images.end());
  }
  for (const std::string& path : paths) {
    const fs::path relative = fs::path(path).lexically_normal();
    if (relative.is_absolute() || relative.empty() || *relative.begin() == "..") {
      throw core::Error("task " + task + "'s record names the image \"" + path +
                        "\" outside its run folder; it cannot be exported");
    }
    // The run folder holds the work dir the model's code wrote: read through the confined
    // folder, so that a link planted there is refused, never followed.
    std::string bytes;
    try {
      bytes = core::ConfinedDir(record.run_dir).read_regular(relative.string(), kMaxImageBytes);
    } catch (const core::Error& e) {
      throw core::Error("cannot copy the image \"" + path + "\" of task " + task +
                        " into the export: " + e.what());
    }
    fs::create_directories((task_out / relative).parent_path());
    std::ofstream out(task_out / relative, std::ios::binary | std::ios::trunc);
    if (!out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush()) {
      throw core::Error("cannot write " + (task_out / relative).string());
    }
  }
}

void write_lines(const fs::path& path, const std::vector<Json>& records) {
  const fs::path temporary = path.string() + ".part";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) throw core::Error("cannot write " + temporary.string());
    for (const Json& record : records) file << record.dump() << "\n";
    if (!file.flush()) throw core::Error("cannot write " + temporary.string());
  }
  fs::rename(temporary, path);
}

}  // namespace

const std::vector<std::string>& export_formats() {
  static const std::vector<std::string> formats{"mat", "llamafactory", "swift"};
  return formats;
}

bool is_accepted(Store& store, std::int64_t id) {
  const auto files = store.result(id, stage::kVerifyFiles);
  const auto trajectory = store.result(id, stage::kTrajectory);
  const auto verdict = store.result(id, stage::kVerifyTrajectory);
  return files && (files->status == status::kAccepted || files->status == status::kRewritten) &&
         trajectory && trajectory->status == status::kDone && verdict &&
         verdict->status == status::kAccepted;
}

ExportSummary export_run(const fs::path& run_dir, Store& store, const std::string& format,
                         const fs::path& out, bool include_rejected) {
  const auto& formats = export_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
    throw core::Error("unknown export format \"" + format +
                      "\"; the formats are mat, llamafactory, swift");
  }
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw core::Error("cannot create " + out.string() + ": " + error.message());
  ExportSummary summary;
  std::vector<Json> records;
  // The training formats: the same conversations and targets as `mat train` reads.
  std::optional<train::DatasetWriter> writer;
  if (format != "mat") writer.emplace(train::parse_export_format(format), out, "mat_synth");
  train::SystemPrompts prompts(run_system_prompts(run_dir));
  for (const TaskRow& row : store.tasks(store.task_count())) {
    const bool accepted = is_accepted(store, row.id);
    const auto trajectory = store.result(row.id, stage::kTrajectory);
    if (!accepted && !(include_rejected && trajectory && trajectory->status == status::kDone)) {
      continue;
    }
    agent::Trajectory record = agent::Trajectory::from_json(trajectory->output);
    if (!record.succeeded()) continue;
    const std::string name = task_name(row.id);
    if (format == "mat") {
      // A folder per task: two tasks' files may share a name.
      const fs::path task_out = fs::absolute(out) / "tasks" / name;
      copy_task_images(record, name, task_out);
      for (const char* verifier : {stage::kVerifyFiles, stage::kVerifyTrajectory}) {
        const auto verdict = store.result(row.id, verifier);
        if (verdict) record.verdicts[verifier] = verdict->output;
      }
      record.run_dir = task_out.string();
      records.push_back(record.to_json());
    } else {
      writer->add(train::conversation_from_trajectory(record, record.run_dir, name, {}, prompts));
    }
    ++summary.exported;
    if (!accepted) ++summary.rejected;
  }
  if (format == "mat") {
    summary.written.push_back(out / "trajectories.jsonl");
    write_lines(summary.written.back(), records);
  } else {
    summary.written = writer->finish();
  }
  write_card(run_dir, store, out);
  return summary;
}

}  // namespace mat::synth

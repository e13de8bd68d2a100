#include "mat/synth/export.h"

#include <algorithm>
#include <fstream>

#include "mat/agent/memory.h"
#include "mat/agent/trajectory.h"
#include "mat/core/error.h"
#include "mat/synth/pipeline.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

std::string system_prompt(const fs::path& run_dir, const std::string& version) {
  const fs::path path = run_dir / "prompts" / (version + ".json");
  if (!fs::exists(path)) return {};
  return core::read_json_file(path).value("system_prompt", "");
}

// Copies the images the record's steps showed under OUT/images/<task>/ and returns their paths
// per step, relative to OUT.
std::vector<std::vector<std::string>> copy_step_images(const agent::Trajectory& record,
                                                       const std::string& task,
                                                       const fs::path& out) {
  std::vector<std::vector<std::string>> images;
  for (const agent::Step& step : record.steps) {
    std::vector<std::string> paths;
    for (const std::string& image : step.images) {
      const fs::path relative = fs::path("images") / task / fs::path(image).filename();
      const fs::path source = fs::path(record.run_dir) / image;
      std::error_code error;
      fs::create_directories((out / relative).parent_path());
      fs::copy_file(source, out / relative, fs::copy_options::overwrite_existing, error);
      if (error) {
        throw core::Error("cannot copy the image " + source.string() + " of task " + task +
                          " into the export: " + error.message());
      }
      paths.push_back(relative.string());
    }
    images.push_back(std::move(paths));
  }
  return images;
}

void write_lines(const fs::path& path, const std::vector<Json>& records, bool as_array) {
  const fs::path temporary = path.string() + ".part";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) throw core::Error("cannot write " + temporary.string());
    if (as_array) {
      file << Json(records).dump(2) << "\n";
    } else {
      for (const Json& record : records) file << record.dump() << "\n";
    }
    if (!file.flush()) throw core::Error("cannot write " + temporary.string());
  }
  fs::rename(temporary, path);
}

Json sharegpt_sample(const agent::Trajectory& record, const std::string& system,
                     const std::vector<std::vector<std::string>>& step_images) {
  Json messages = Json::array();
  Json images = Json::array();
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  messages.push_back({{"role", "user"}, {"content", agent::task_text(record.task, record.files)}});
  for (size_t i = 0; i < record.steps.size(); ++i) {
    const agent::Step& step = record.steps[i];
    messages.push_back({{"role", "assistant"}, {"content", agent::assistant_text(step)}});
    if (i + 1 == record.steps.size()) break;  // the answer ends the conversation
    std::string content;
    for (const std::string& image : step_images[i]) {
      content += "<image>";
      images.push_back(image);
    }
    content += agent::observation_text(step);
    messages.push_back({{"role", "user"}, {"content", content}});
  }
  return {{"messages", messages}, {"images", images}};
}

}  // namespace

const std::vector<std::string>& export_formats() {
  static const std::vector<std::string> formats{"mat", "llamafactory"};
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
                         const fs::path& out) {
  const auto& formats = export_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
    throw core::Error("unknown export format \"" + format +
                      "\"; the formats are mat, llamafactory");
  }
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw core::Error("cannot create " + out.string() + ": " + error.message());
  ExportSummary summary;
  std::vector<Json> records;
  for (const TaskRow& row : store.tasks(store.task_count())) {
    if (!is_accepted(store, row.id)) continue;
    agent::Trajectory record =
        agent::Trajectory::from_json(store.result(row.id, stage::kTrajectory)->output);
    if (!record.succeeded()) continue;
    const std::string name = task_name(row.id);
    const auto step_images = copy_step_images(record, name, out);
    if (format == "mat") {
      record.verdicts = {
          {stage::kVerifyFiles, store.result(row.id, stage::kVerifyFiles)->output},
          {stage::kVerifyTrajectory, store.result(row.id, stage::kVerifyTrajectory)->output}};
      for (size_t i = 0; i < record.steps.size(); ++i) record.steps[i].images = step_images[i];
      record.run_dir = fs::absolute(out).string();
      records.push_back(record.to_json());
    } else {
      records.push_back(
          sharegpt_sample(record, system_prompt(run_dir, record.prompt_version), step_images));
    }
    ++summary.exported;
  }
  if (format == "mat") {
    summary.written.push_back(out / "trajectories.jsonl");
    write_lines(summary.written.back(), records, false);
  } else {
    summary.written.push_back(out / "mat_synth.json");
    write_lines(summary.written.back(), records, true);
    const Json info = {{"mat_synth",
                        {{"file_name", "mat_synth.json"},
                         {"formatting", "sharegpt"},
                         {"columns", {{"messages", "messages"}, {"images", "images"}}},
                         {"tags",
                          {{"role_tag", "role"},
                           {"content_tag", "content"},
                           {"user_tag", "user"},
                           {"assistant_tag", "assistant"},
                           {"system_tag", "system"}}}}}};
    core::write_json_file(out / "dataset_info.json", info);
    summary.written.push_back(out / "dataset_info.json");
  }
  return summary;
}

}  // namespace mat::synth

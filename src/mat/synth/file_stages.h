// The stages that give a task its files, between `queries` and `verify_files`:
//
//   file_contents  the teacher describes each file the query needs: {"files": [{"type", "name",
//                  "content"}]} (an image's content is a description)
//   file_code      for each non-image file, the teacher writes a script that makes it; the script
//                  runs in the agent's sandbox (file_code.h)
//   images         no teacher call: each image description is embedded and the pool image with
//                  the nearest caption is copied in (image_pool.h)
//
// The files land in RUN/tasks/<task>/files/, which verify_files and the trajectory read. A stage
// that has nothing to do for a task (no files, no images) is skipped and records nothing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/llm/chat_model.h"
#include "mat/llm/embedder.h"
#include "mat/synth/image_pool.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/store.h"

namespace mat::synth {

namespace stage {
inline constexpr const char* kFileContents = "file_contents";
inline constexpr const char* kFileCode = "file_code";
inline constexpr const char* kImages = "images";
}  // namespace stage

// What the file stages of one run work with.
struct FileStageContext {
  std::filesystem::path run_dir;
  const RunConfig& config;
  Store& store;
  const StageModels& models;
  llm::Embedder* embedder = nullptr;  // none: the run has no embedder
  const ImagePool* pool = nullptr;    // none: the run has no image pool
};

// One file a task needs, as file_contents described it.
struct PlannedFile {
  std::string type;
  std::string name;
  std::string content;  // an image's description
};

// The folder of task `id`'s files: RUN/tasks/<task>/files/.
std::filesystem::path task_files_dir(const std::filesystem::path& run_dir, std::int64_t id);

// The files of a recorded file_contents result (none when it holds none).
std::vector<PlannedFile> planned_files(const StageResult& result);

// Whether stage `name` has work for task `row`: file_contents when the query names file types;
// file_code and images when file_contents planned a non-image file or an image; every other
// stage always.
bool stage_applies(const std::string& name, const TaskRow& row, Store& store);

// Checks a file_contents reply against the task's query: a non-empty "files" list of known types
// with plain, distinct names that fit their types, non-empty content, and every type the query
// names present. Returns the problem, or nullopt.
std::optional<std::string> check_file_contents(const core::Json& value, const QuerySpec& query);

StageResult run_file_contents(const FileStageContext& context, const TaskRow& row);
StageResult run_images(const FileStageContext& context, const TaskRow& row);

// The task's files as verify_files shows them, each after a "File NAME:" line: an image as an
// image (downscaled as the agent's are), any other file as the markdown the agent's
// inspect_file_as_text makes of it, clipped. A file that cannot be shown says why instead.
std::vector<llm::ContentPart> shown_files(const std::vector<std::filesystem::path>& files);

// Writes `bytes` to `path` whole or not at all (a temporary file renamed over it).
void write_task_file(const std::filesystem::path& path, const std::string& bytes);

}  // namespace mat::synth

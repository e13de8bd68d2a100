// Puts a task's attached files where the sandboxed code can read them, and keeps the host's own
// copy of every image the model is shown, outside the folder the code can write.
//
//   RUN/work/          the sandbox's working directory (attached files copied in, read-only)
//   RUN/shown/task/    the attached images as the model saw them
//   RUN/shown/step-K/  the images step K's code saved, copied when they were shown
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/core/confined_dir.h"
#include "mat/core/image_cache.h"

namespace mat::agent {

// Where the host keeps its copy of an attached image, relative to the run dir.
std::string shown_task_image(const FileRef& file);

// Copies each file into `work_dir` (a name taken twice gets a numeric prefix; a file already in
// the folder stays where it is) and each image also to shown_task_image() under `run_dir`, and
// returns the references the model sees. Images are decoded once through `images`, so an
// unreadable or oversized image fails here. Throws core::Error naming the file and what to do.
std::vector<FileRef> stage_files(const std::vector<std::filesystem::path>& files,
                                 const core::ConfinedDir& work_dir,
                                 const std::filesystem::path& run_dir, core::ImageCache& images);

// Copies an image the step's code saved (`relative` in `work_dir`, read without following links)
// to the run dir, so that the record points at exactly what the model saw even if the code
// changes the file later. Checks it against `limits` first. Returns the copy's path relative to
// `run_dir`; throws core::Error saying why the image cannot be shown.
std::string snapshot_image(const core::ConfinedDir& work_dir, const std::string& relative,
                           const std::filesystem::path& run_dir, int step_index,
                           const core::ImageLimits& limits);

}  // namespace mat::agent

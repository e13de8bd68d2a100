// Puts a task's attached files into the run's working directory, where the sandboxed code can
// read them, and checks them before any model call.
#pragma once

#include <filesystem>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/core/image_cache.h"

namespace mat::agent {

// Copies each file into `work_dir` (a name taken twice gets a numeric prefix) and returns the
// references the model sees. Images are decoded once through `images`, so an unreadable image
// fails here. Throws core::Error naming the file and what to do.
std::vector<FileRef> stage_files(const std::vector<std::filesystem::path>& files,
                                 const std::filesystem::path& work_dir, core::ImageCache& images);

// Keeps a copy of an image the model is shown, under work_dir/.mat/, so the trajectory points
// at exactly what the model saw even if its code overwrites the file later. Returns the copy's
// path relative to work_dir.
std::string snapshot_image(const std::filesystem::path& image,
                           const std::filesystem::path& work_dir, int step_index);

}  // namespace mat::agent

// Exports of a `mat synth` run: only tasks accepted by both verifiers whose trajectory ended
// with final_answer, in task order. With `include_rejected` (the paper's ablation without
// verifiers; the run must have been made with verifiers_stop_tasks off), every task whose
// trajectory ended with final_answer, whatever the verifiers said; the card still describes the
// verified data.
//
//   mat          OUT/trajectories.jsonl  (the trajectory record, verdicts filled; what `mat train`
//                reads), the images its steps showed under OUT/images/<task>/
//   llamafactory OUT/mat_synth.json (ShareGPT "messages" + "images", one <image> where each image
//                is shown) and OUT/dataset_info.json; swift OUT/mat_synth.jsonl (ms-swift's
//                messages format). Both are train::DatasetWriter's: the same conversations and
//                targets as `mat train` reads, images under OUT/images/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mat/synth/store.h"

namespace mat::synth {

const std::vector<std::string>& export_formats();  // "mat", "llamafactory", "swift"

struct ExportSummary {
  std::int64_t exported = 0;
  std::int64_t rejected = 0;  // of those, tasks a verifier rejected (include_rejected only)
  std::vector<std::filesystem::path> written;  // the data files written
};

// Throws core::Error for an unknown format or a folder that cannot be written.
ExportSummary export_run(const std::filesystem::path& run_dir, Store& store,
                         const std::string& format, const std::filesystem::path& out,
                         bool include_rejected = false);

// Whether task `id` passed every stage (what export takes).
bool is_accepted(Store& store, std::int64_t id);

}  // namespace mat::synth

// `mat synth merge RUN/ SHARD_RUN/...`: the stores and task folders of shard runs (`mat synth
// run --shard i/n`) combined into one run, which then exports, reports and resumes as if it had
// run unsharded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace mat::synth {

struct MergeSummary {
  std::int64_t shards = 0;
  std::int64_t tasks = 0;  // live tasks in RUN afterwards
};

// Merges each shard into `run_dir` (created with the first shard's config when it holds no
// run). Throws core::Error naming the shard whose config differs from the run's (other than
// its creation time), that was merged already, or that cannot be read.
MergeSummary merge_runs(const std::filesystem::path& run_dir,
                        const std::vector<std::filesystem::path>& shards);

}  // namespace mat::synth

#include "mat/synth/merge.h"

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/core/utc_time.h"
#include "mat/synth/image_pool.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/query_dedupe.h"
#include "mat/synth/store.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

// The config that decides what a run makes: all of config.json but when it was created.
Json deciding_config(const fs::path& run_dir) {
  load_run_config(run_dir);  // a folder that is no run fails here, naming it
  Json json = core::read_json_file(run_dir / kConfigFile);
  json.erase("created_at");
  return json;
}

// Copies the task folders of `shard` that `run_dir` lacks (the files and the agent's work of
// each task, which the trajectory records point into).
void copy_task_folders(const fs::path& shard, const fs::path& run_dir) {
  const fs::path from = shard / "tasks";
  if (!fs::exists(from)) return;
  fs::create_directories(run_dir / "tasks");
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path to = run_dir / "tasks" / entry.path().filename();
    if (fs::exists(to)) continue;
    std::error_code error;
    fs::copy(entry.path(), to, fs::copy_options::recursive, error);
    if (error) {
      throw core::Error("cannot copy " + entry.path().string() + " to " + to.string() + ": " +
                        error.message());
    }
  }
}

// What says which images a pool holds and how they were embedded: pool.json but when it was
// built, and the captions in index order. Equal configs build equal pools, but a pool folder
// changed between two inits would not.
Json pool_identity(const fs::path& run_dir) {
  const fs::path dir = run_dir / kImagePoolDir;
  Json pool = core::read_json_file(dir / "pool.json");
  pool.erase("built_at");
  return {{"pool", pool}, {"entries", core::read_file(dir / "entries.jsonl")}};
}

// Keeps the run's image pool, after checking that `shard`'s is the same; a run without one (the
// merge made it) takes the shard's.
void merge_image_pool(const fs::path& shard, const fs::path& run_dir) {
  if (!ImagePool::exists(shard)) return;
  const fs::path ours = run_dir / kImagePoolDir;
  if (!ImagePool::exists(run_dir)) {
    fs::remove_all(ours);  // a build stopped part way
    fs::copy(shard / kImagePoolDir, ours, fs::copy_options::recursive);
    return;
  }
  if (pool_identity(shard) != pool_identity(run_dir)) {
    throw core::Error("cannot merge " + shard.string() + ": its image pool (" +
                      (shard / kImagePoolDir).string() + ") differs from " + ours.string() +
                      "; the pool folder or its captions changed between the inits");
  }
}

}  // namespace

MergeSummary merge_runs(const fs::path& run_dir, const std::vector<fs::path>& shards) {
  if (shards.empty()) throw core::Error("mat synth merge needs at least one shard run to merge");
  if (!fs::exists(run_dir / kConfigFile)) {
    fs::create_directories(run_dir);
    Json json = core::read_json_file(shards.front() / kConfigFile);
    json["created_at"] = core::utc_now();
    core::write_json_file(run_dir / kConfigFile, json);
  }
  const Json expected = deciding_config(run_dir);
  for (const fs::path& shard : shards) {
    if (deciding_config(shard) != expected) {
      throw core::Error("cannot merge " + shard.string() + ": its config.json differs from " +
                        (run_dir / kConfigFile).string() +
                        " (teacher, seed, prompts, batch size or prices), so its tasks are not "
                        "this run's; merge only shards started from the same config");
    }
    merge_image_pool(shard, run_dir);  // before any store is merged: a differing pool refuses
  }
  MergeSummary summary;
  Store store(run_dir);
  for (const fs::path& shard : shards) {
    store.merge_from(shard);
    copy_task_folders(shard, run_dir);
    merge_query_embeddings(run_dir, shard);
    if (fs::exists(shard / "prompts")) {  // the agent's system prompt, which exports need
      fs::copy(shard / "prompts", run_dir / "prompts",
               fs::copy_options::recursive | fs::copy_options::skip_existing);
    }
    ++summary.shards;
  }
  summary.tasks = store.task_count();
  return summary;
}

}  // namespace mat::synth

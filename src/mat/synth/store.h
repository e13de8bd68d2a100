// The persistent store of a `mat synth` run: RUN/synth.db, SQLite in WAL mode. One row per query
// batch, per task, per (task, stage) result, and per teacher call (request and reply, for audits).
// A unit of work is recorded in one transaction when it finishes, so a process killed at any
// moment loses only the units in flight and never records one twice; several threads (one
// Store, serialised by a mutex) and several processes (WAL and a busy timeout) may share it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"

struct sqlite3;

namespace mat::synth {

inline constexpr const char* kStoreFile = "synth.db";

// Outcome of a (task, stage) result.
namespace status {
inline constexpr const char* kDone = "done";            // a stage with no verdict finished
inline constexpr const char* kAccepted = "accepted";    // a verifier said yes
inline constexpr const char* kRewritten = "rewritten";  // verify_files: no, with updated_query
inline constexpr const char* kRejected = "rejected";    // a verifier said no
inline constexpr const char* kFailed = "failed";        // the stage could not finish (reason kept)
}  // namespace status

struct QuerySpec {
  std::string query;
  std::vector<std::string> tools;
  std::vector<std::string> files;  // file types
};

struct TaskRow {
  std::int64_t id = 0;
  std::int64_t batch = 0;
  QuerySpec spec;
};

struct StageResult {
  std::string status;
  core::Json output;  // the stage's parsed reply or record; null when it failed
  std::string error;  // why it failed or was rejected
  std::string prompt_version;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

struct CallRecord {
  std::string stage;
  std::optional<std::int64_t> task;   // none for a queries batch
  std::optional<std::int64_t> batch;  // the batch of a queries call
  int attempt = 1;
  std::string request;  // the messages' text (images left out)
  std::string reply;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  std::string error;  // set when the reply was refused (parse or shape error, model error)
};

struct BatchOutcome {
  std::int64_t id = 0;
  std::string status;  // done | failed
  std::string error;
  std::string prompt_version;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  int proposed = 0;  // queries in the reply
};

struct StoreCounts {
  std::int64_t tasks = 0;
  std::map<std::string, std::int64_t> batches;                        // by status
  std::map<std::string, std::map<std::string, std::int64_t>> stages;  // stage -> status -> n
  std::int64_t calls = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

// Lower-case letters and digits of `text`, runs of anything else as one space, trimmed: two
// queries with the same normalised text are duplicates.
std::string normalised_text(const std::string& text);

class Store {
 public:
  // Opens (creating when missing) RUN/synth.db. Throws core::Error naming the file.
  explicit Store(const std::filesystem::path& run_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::int64_t task_count();
  std::int64_t next_batch_id();  // one more than the largest batch recorded (1 for none)

  // Records a finished batch and inserts its queries, skipping near-duplicates (normalised text)
  // of any task already stored, and stopping once `max_tasks` tasks exist. Returns the ids of
  // the tasks added. One transaction.
  std::vector<std::int64_t> add_batch(const BatchOutcome& batch,
                                      const std::vector<QuerySpec>& queries,
                                      std::int64_t max_tasks);

  std::vector<TaskRow> tasks(std::int64_t limit);  // the first `limit` tasks by id
  std::optional<TaskRow> task(std::int64_t id);

  std::optional<StageResult> result(std::int64_t task, const std::string& stage);
  // Records the result of `stage` for `task` (first one wins: a repeated unit is ignored).
  void put_result(std::int64_t task, const std::string& stage, const StageResult& result);

  void log_call(const CallRecord& call);

  StoreCounts counts();

  // Reasons of rejected or failed results of `stage`, most frequent first.
  std::vector<std::pair<std::string, std::int64_t>> top_reasons(const std::string& stage,
                                                                int limit);

 private:
  void exec(const char* sql);
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace mat::synth

// The persistent store of a `mat synth` run: RUN/synth.db, SQLite in WAL mode. One row per query
// batch, per task, per (task, stage) result, and per teacher call (request and reply, for audits).
// A unit of work is recorded in one transaction when it finishes, so a process killed at any
// moment loses only the units in flight and never records one twice; several threads (one
// Store, serialised by a mutex) and several processes (WAL and a busy timeout) may share it.
//
// Task ids are fixed by where a query stands, not by when it arrived: the query at position p
// (from 0) of batch b is task (b - 1) * ids_per_batch + p + 1. A query whose normalised text
// repeats one of a lower id is stored but is not *live*: the lower id wins whatever order the
// batches finished in, so runs with several workers, resumed runs and merged shards agree.
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
#include "mat/llm/embedder.h"

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
  // What the request is, whatever the unit it belongs to: replay finds the reply by it.
  std::string request_key;
};

// A recorded teacher reply, as replay gives it back.
struct RecordedReply {
  std::string text;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

// The price of the teacher's tokens, in US dollars per million.
struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  double cost(std::int64_t tokens_in, std::int64_t tokens_out) const {
    return (static_cast<double>(tokens_in) * input_per_mtok +
            static_cast<double>(tokens_out) * output_per_mtok) /
           1e6;
  }
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

// The teacher calls of one stage.
struct StageUsage {
  std::int64_t calls = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;
};

struct StoreCounts {
  std::int64_t tasks = 0;                       // live ones
  std::int64_t duplicates = 0;                  // stored, but repeating a task of a lower id
  std::int64_t near_duplicates = 0;             // marked by the query de-duplication
  std::map<std::string, std::int64_t> batches;  // by status
  std::map<std::string, std::map<std::string, std::int64_t>> stages;  // stage -> status -> n
  std::int64_t calls = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;
  std::map<std::string, StageUsage> usage;  // by stage
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

  // The cost of every call logged from now on is priced at `price`.
  void set_price(const Price& price);

  std::int64_t task_count();              // live tasks
  std::vector<std::int64_t> batch_ids();  // of the batches recorded, ascending

  // Records a finished batch and inserts its first `ids_per_batch` queries under their fixed
  // ids, leaving out those that repeat (normalised text) a task of a lower id or an earlier one
  // of the same batch. Returns the ids of the tasks added. One transaction; a batch recorded
  // already (by another process) adds nothing.
  std::vector<std::int64_t> add_batch(const BatchOutcome& batch,
                                      const std::vector<QuerySpec>& queries, int ids_per_batch);

  // Marks task `task` a near-duplicate of `similar_to` (of lower id): no longer live, its id kept.
  void mark_near_duplicate(std::int64_t task, std::int64_t similar_to, double similarity);

  std::vector<TaskRow> tasks(std::int64_t limit);  // the first `limit` live tasks by id
  std::optional<TaskRow> task(std::int64_t id);
  // The live tasks of batches after_batch + 1 .. up_to_batch, by id.
  std::vector<TaskRow> live_tasks_in_batches(std::int64_t after_batch, std::int64_t up_to_batch);

  std::optional<StageResult> result(std::int64_t task, const std::string& stage);
  // Records the result of `stage` for `task` (first one wins: a repeated unit is ignored).
  void put_result(std::int64_t task, const std::string& stage, const StageResult& result);

  void log_call(const CallRecord& call);
  // The last reply recorded for a request with this key (see CallRecord::request_key).
  std::optional<RecordedReply> recorded_reply(const std::string& request_key);
  double cost_usd();  // of every call logged

  // The embedder's vector for `text`, kept for replay like the teacher's replies.
  void put_embedding(const std::string& model, const std::string& text,
                     const llm::Embedding& vector);
  std::optional<llm::Embedding> recorded_embedding(const std::string& model,
                                                   const std::string& text);

  StoreCounts counts();
  // Results of `stage` finished at or after `since` (core::utc_now's format; "" for all).
  std::int64_t finished_since(const std::string& stage, const std::string& since);
  // Tasks that are through (rejected or failed at a stage, or a result for `last_stage`), with
  // that result recorded at or after `since` ("" for all).
  std::int64_t tasks_through(const std::string& last_stage, const std::string& since);

  // Reasons of rejected or failed results of `stage`, most frequent first.
  std::vector<std::pair<std::string, std::int64_t>> top_reasons(const std::string& stage,
                                                                int limit);

  // Adds what the store of another run (a shard) holds and this one lacks: batches, tasks and
  // results (the first recorded wins), and its calls. Throws core::Error when that store was
  // merged here already or cannot be read.
  void merge_from(const std::filesystem::path& other_run_dir);

 private:
  void exec(const char* sql);
  void add_call_columns();
  std::string run_uid();
  std::mutex mutex_;
  Price price_;
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace mat::synth

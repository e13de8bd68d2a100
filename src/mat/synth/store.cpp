#include "mat/synth/store.h"

#include <sqlite3.h>

#include <cctype>

#include "mat/core/error.h"
#include "mat/core/utc_time.h"

namespace mat::synth {
namespace {

using core::Json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS batches(
  id INTEGER PRIMARY KEY, status TEXT NOT NULL, error TEXT, prompt_version TEXT,
  tokens_in INTEGER, tokens_out INTEGER, proposed INTEGER, added INTEGER, finished_at TEXT);
CREATE TABLE IF NOT EXISTS tasks(
  id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, norm TEXT NOT NULL UNIQUE, query TEXT NOT NULL,
  tools TEXT NOT NULL, files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results(
  task INTEGER NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, output TEXT, error TEXT,
  prompt_version TEXT, tokens_in INTEGER, tokens_out INTEGER, finished_at TEXT,
  PRIMARY KEY(task, stage));
CREATE TABLE IF NOT EXISTS calls(
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, task INTEGER, batch INTEGER,
  attempt INTEGER, request TEXT, reply TEXT, tokens_in INTEGER, tokens_out INTEGER, error TEXT,
  at TEXT);
)sql";

// One prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw core::Error(std::string("synth store: cannot prepare a query: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // True when a row is ready; false when done. Throws on an error.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw core::Error(std::string("synth store: a query failed: ") + sqlite3_errmsg(db_));
  }
  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) {
    const auto* data = sqlite3_column_text(stmt_, column);
    if (data == nullptr) return {};
    return {reinterpret_cast<const char*>(data),
            static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  bool is_null(int column) { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Json strings_json(const std::vector<std::string>& values) {
  return Json(values);
}

std::vector<std::string> strings_from(const std::string& text) {
  std::vector<std::string> values;
  const Json json = Json::parse(text, nullptr, false);
  if (!json.is_array()) return values;
  for (const Json& value : json) {
    if (value.is_string()) values.push_back(value.get<std::string>());
  }
  return values;
}

}  // namespace

std::string normalised_text(const std::string& text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || byte >= 0x80) {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += static_cast<char>(std::tolower(byte));
    } else {
      space = true;
    }
  }
  return out;
}

Store::Store(const std::filesystem::path& run_dir) : path_(run_dir / kStoreFile) {
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw core::Error("cannot open the synth store " + path_.string() + ": " + message +
                      " (is RUN/ a folder made by `mat synth init`?)");
  }
  sqlite3_busy_timeout(db_, 30'000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec(kSchema);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() {
  sqlite3_close(db_);
}

void Store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    throw core::Error("synth store " + path_.string() + ": " + message);
  }
}

std::int64_t Store::task_count() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COUNT(*) FROM tasks");
  query.step();
  return query.integer(0);
}

std::int64_t Store::next_batch_id() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COALESCE(MAX(id), 0) + 1 FROM batches");
  query.step();
  return query.integer(0);
}

std::vector<std::int64_t> Store::add_batch(const BatchOutcome& batch,
                                           const std::vector<QuerySpec>& queries,
                                           std::int64_t max_tasks) {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> added;
  exec("BEGIN IMMEDIATE");
  try {
    Statement seen(db_, "SELECT 1 FROM batches WHERE id = ?");
    if (seen.bind(1, batch.id).step()) {  // recorded already (another process): keep the first
      exec("COMMIT");
      return added;
    }
    Statement count(db_, "SELECT COUNT(*) FROM tasks");
    count.step();
    std::int64_t total = count.integer(0);
    for (const QuerySpec& spec : queries) {
      if (total >= max_tasks) break;
      Statement insert(db_,
                       "INSERT OR IGNORE INTO tasks(batch, norm, query, tools, files) "
                       "VALUES(?, ?, ?, ?, ?)");
      insert.bind(1, batch.id)
          .bind(2, normalised_text(spec.query))
          .bind(3, spec.query)
          .bind(4, strings_json(spec.tools).dump())
          .bind(5, strings_json(spec.files).dump());
      insert.step();
      if (sqlite3_changes(db_) == 1) {
        added.push_back(sqlite3_last_insert_rowid(db_));
        ++total;
      }
    }
    Statement record(db_,
                     "INSERT INTO batches(id, status, error, prompt_version, tokens_in, "
                     "tokens_out, proposed, added, finished_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    record.bind(1, batch.id)
        .bind(2, batch.status)
        .bind(3, batch.error)
        .bind(4, batch.prompt_version)
        .bind(5, batch.tokens_in)
        .bind(6, batch.tokens_out)
        .bind(7, static_cast<std::int64_t>(batch.proposed))
        .bind(8, static_cast<std::int64_t>(added.size()))
        .bind(9, core::utc_now());
    record.step();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return added;
}

std::vector<TaskRow> Store::tasks(std::int64_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<TaskRow> rows;
  Statement query(db_, "SELECT id, batch, query, tools, files FROM tasks ORDER BY id LIMIT ?");
  query.bind(1, limit);
  while (query.step()) {
    rows.push_back({query.integer(0),
                    query.integer(1),
                    {query.text(2), strings_from(query.text(3)), strings_from(query.text(4))}});
  }
  return rows;
}

std::optional<TaskRow> Store::task(std::int64_t id) {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT id, batch, query, tools, files FROM tasks WHERE id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return TaskRow{query.integer(0),
                 query.integer(1),
                 {query.text(2), strings_from(query.text(3)), strings_from(query.text(4))}};
}

std::optional<StageResult> Store::result(std::int64_t task, const std::string& stage) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT status, output, error, prompt_version, tokens_in, tokens_out FROM "
                  "results WHERE task = ? AND stage = ?");
  query.bind(1, task).bind(2, stage);
  if (!query.step()) return std::nullopt;
  StageResult result;
  result.status = query.text(0);
  if (!query.is_null(1)) result.output = Json::parse(query.text(1), nullptr, false);
  result.error = query.text(2);
  result.prompt_version = query.text(3);
  result.tokens_in = query.integer(4);
  result.tokens_out = query.integer(5);
  return result;
}

void Store::put_result(std::int64_t task, const std::string& stage, const StageResult& result) {
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT OR IGNORE INTO results(task, stage, status, output, error, "
                   "prompt_version, tokens_in, tokens_out, finished_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, task).bind(2, stage).bind(3, result.status);
  if (result.output.is_null()) {
    insert.bind_null(4);
  } else {
    insert.bind(4, result.output.dump());
  }
  insert.bind(5, result.error)
      .bind(6, result.prompt_version)
      .bind(7, result.tokens_in)
      .bind(8, result.tokens_out)
      .bind(9, core::utc_now());
  insert.step();
}

void Store::log_call(const CallRecord& call) {
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO calls(stage, task, batch, attempt, request, reply, tokens_in, "
                   "tokens_out, error, at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, call.stage);
  if (call.task) {
    insert.bind(2, *call.task);
  } else {
    insert.bind_null(2);
  }
  if (call.batch) {
    insert.bind(3, *call.batch);
  } else {
    insert.bind_null(3);
  }
  insert.bind(4, static_cast<std::int64_t>(call.attempt))
      .bind(5, call.request)
      .bind(6, call.reply)
      .bind(7, call.tokens_in)
      .bind(8, call.tokens_out)
      .bind(9, call.error)
      .bind(10, core::utc_now());
  insert.step();
}

StoreCounts Store::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts counts;
  {
    Statement query(db_, "SELECT COUNT(*) FROM tasks");
    query.step();
    counts.tasks = query.integer(0);
  }
  {
    Statement query(db_, "SELECT status, COUNT(*) FROM batches GROUP BY status");
    while (query.step()) counts.batches[query.text(0)] = query.integer(1);
  }
  {
    Statement query(db_, "SELECT stage, status, COUNT(*) FROM results GROUP BY stage, status");
    while (query.step()) counts.stages[query.text(0)][query.text(1)] = query.integer(2);
  }
  {
    Statement query(db_,
                    "SELECT COUNT(*), COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) "
                    "FROM calls");
    query.step();
    counts.calls = query.integer(0);
    counts.tokens_in = query.integer(1);
    counts.tokens_out = query.integer(2);
  }
  return counts;
}

std::vector<std::pair<std::string, std::int64_t>> Store::top_reasons(const std::string& stage,
                                                                     int limit) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::int64_t>> reasons;
  Statement query(db_,
                  "SELECT error, COUNT(*) AS n FROM results WHERE stage = ? AND status IN "
                  "('rejected', 'failed') GROUP BY error ORDER BY n DESC, error LIMIT ?");
  query.bind(1, stage).bind(2, static_cast<std::int64_t>(limit));
  while (query.step()) reasons.emplace_back(query.text(0), query.integer(1));
  return reasons;
}

}  // namespace mat::synth

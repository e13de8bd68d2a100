#include "mat/synth/store.h"

#include <sqlite3.h>

#include <algorithm>
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
  id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, norm TEXT NOT NULL, query TEXT NOT NULL,
  tools TEXT NOT NULL, files TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_norm ON tasks(norm, id);
CREATE TABLE IF NOT EXISTS near_duplicates(
  task INTEGER PRIMARY KEY, similar_to INTEGER NOT NULL, similarity REAL NOT NULL);
CREATE TABLE IF NOT EXISTS results(
  task INTEGER NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, output TEXT, error TEXT,
  prompt_version TEXT, tokens_in INTEGER, tokens_out INTEGER, finished_at TEXT,
  PRIMARY KEY(task, stage));
CREATE INDEX IF NOT EXISTS results_finished ON results(stage, finished_at);
CREATE TABLE IF NOT EXISTS calls(
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, task INTEGER, batch INTEGER,
  attempt INTEGER, request TEXT, reply TEXT, tokens_in INTEGER, tokens_out INTEGER, error TEXT,
  at TEXT, cost REAL NOT NULL DEFAULT 0, request_key TEXT);
CREATE INDEX IF NOT EXISTS calls_request ON calls(request_key);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES('uid', lower(hex(randomblob(16))));
CREATE TABLE IF NOT EXISTS embeddings(
  model TEXT NOT NULL, text TEXT NOT NULL, vector TEXT NOT NULL, PRIMARY KEY(model, text));
CREATE TABLE IF NOT EXISTS merged(uid TEXT PRIMARY KEY, path TEXT, at TEXT);
)sql";

// A task repeating the normalised query of a lower id.
constexpr const char* kRepeat =
    "EXISTS (SELECT 1 FROM tasks u WHERE u.norm = tasks.norm AND u.id < tasks.id)";
// A task is live unless it is a repeat or marked a near-duplicate (query_dedupe.h).
constexpr const char* kLive =
    "(NOT EXISTS (SELECT 1 FROM tasks u WHERE u.norm = tasks.norm AND u.id < tasks.id) AND "
    "NOT EXISTS (SELECT 1 FROM near_duplicates n WHERE n.task = tasks.id))";

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
  double real(int column) { return sqlite3_column_double(stmt_, column); }
  Statement& bind(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
  }
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
    add_call_columns();
    exec(kSchema);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() {
  sqlite3_close(db_);
}

void Store::add_call_columns() {
  // A store made before calls had a cost and a request key gets the columns (empty for its
  // earlier calls) before the schema indexes them.
  Statement exists(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'");
  if (!exists.step()) return;
  Statement columns(db_, "SELECT 1 FROM pragma_table_info('calls') WHERE name = 'request_key'");
  if (columns.step()) return;
  exec("ALTER TABLE calls ADD COLUMN cost REAL NOT NULL DEFAULT 0");
  exec("ALTER TABLE calls ADD COLUMN request_key TEXT");
}

void Store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    throw core::Error("synth store " + path_.string() + ": " + message);
  }
}

void Store::set_price(const Price& price) {
  std::lock_guard lock(mutex_);
  price_ = price;
}

std::int64_t Store::task_count() {
  std::lock_guard lock(mutex_);
  Statement query(db_, (std::string("SELECT COUNT(*) FROM tasks WHERE ") + kLive).c_str());
  query.step();
  return query.integer(0);
}

std::vector<std::int64_t> Store::batch_ids() {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> ids;
  Statement query(db_, "SELECT id FROM batches ORDER BY id");
  while (query.step()) ids.push_back(query.integer(0));
  return ids;
}

std::vector<std::int64_t> Store::add_batch(const BatchOutcome& batch,
                                           const std::vector<QuerySpec>& queries,
                                           int ids_per_batch) {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> added;
  exec("BEGIN IMMEDIATE");
  try {
    Statement seen(db_, "SELECT 1 FROM batches WHERE id = ?");
    if (seen.bind(1, batch.id).step()) {  // recorded already (another process): keep the first
      exec("COMMIT");
      return added;
    }
    const std::int64_t first_id = (batch.id - 1) * ids_per_batch + 1;
    const size_t count = std::min(queries.size(), static_cast<size_t>(ids_per_batch));
    for (size_t i = 0; i < count; ++i) {
      const QuerySpec& spec = queries[i];
      const std::int64_t id = first_id + static_cast<std::int64_t>(i);
      const std::string norm = normalised_text(spec.query);
      Statement earlier(db_, "SELECT 1 FROM tasks WHERE norm = ? AND id < ?");
      if (earlier.bind(1, norm).bind(2, id).step()) continue;  // a repeat: never worth asking
      Statement insert(db_,
                       "INSERT OR IGNORE INTO tasks(id, batch, norm, query, tools, files) "
                       "VALUES(?, ?, ?, ?, ?, ?)");
      insert.bind(1, id)
          .bind(2, batch.id)
          .bind(3, norm)
          .bind(4, spec.query)
          .bind(5, strings_json(spec.tools).dump())
          .bind(6, strings_json(spec.files).dump());
      insert.step();
      if (sqlite3_changes(db_) == 1) added.push_back(id);
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

void Store::mark_near_duplicate(std::int64_t task, std::int64_t similar_to, double similarity) {
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT OR IGNORE INTO near_duplicates(task, similar_to, similarity) "
                   "VALUES(?, ?, ?)");
  insert.bind(1, task).bind(2, similar_to).bind(3, similarity).step();
}

std::vector<TaskRow> Store::tasks(std::int64_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<TaskRow> rows;
  Statement query(db_, (std::string("SELECT id, batch, query, tools, files FROM tasks WHERE ") +
                        kLive + " ORDER BY id LIMIT ?")
                           .c_str());
  query.bind(1, limit);
  while (query.step()) {
    rows.push_back({query.integer(0),
                    query.integer(1),
                    {query.text(2), strings_from(query.text(3)), strings_from(query.text(4))}});
  }
  return rows;
}

std::vector<TaskRow> Store::live_tasks_in_batches(std::int64_t after_batch,
                                                  std::int64_t up_to_batch) {
  std::lock_guard lock(mutex_);
  std::vector<TaskRow> rows;
  Statement query(db_, (std::string("SELECT id, batch, query, tools, files FROM tasks WHERE "
                                    "batch > ? AND batch <= ? AND ") +
                        kLive + " ORDER BY id")
                           .c_str());
  query.bind(1, after_batch).bind(2, up_to_batch);
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
                   "tokens_out, error, at, cost, request_key) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
      .bind(10, core::utc_now())
      .bind(11, price_.cost(call.tokens_in, call.tokens_out))
      .bind(12, call.request_key);
  insert.step();
}

std::optional<RecordedReply> Store::recorded_reply(const std::string& request_key) {
  std::lock_guard lock(mutex_);
  // A call the teacher never answered (its error logged) has no reply to give back.
  Statement query(db_,
                  "SELECT reply, tokens_in, tokens_out FROM calls WHERE request_key = ? AND "
                  "reply != '' ORDER BY id DESC LIMIT 1");
  query.bind(1, request_key);
  if (!query.step()) return std::nullopt;
  return RecordedReply{query.text(0), query.integer(1), query.integer(2)};
}

void Store::put_embedding(const std::string& model, const std::string& text,
                          const llm::Embedding& vector) {
  std::lock_guard lock(mutex_);
  Statement insert(db_, "INSERT OR IGNORE INTO embeddings(model, text, vector) VALUES(?, ?, ?)");
  insert.bind(1, model).bind(2, text).bind(3, Json(vector).dump()).step();
}

std::optional<llm::Embedding> Store::recorded_embedding(const std::string& model,
                                                        const std::string& text) {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT vector FROM embeddings WHERE model = ? AND text = ?");
  query.bind(1, model).bind(2, text);
  if (!query.step()) return std::nullopt;
  return Json::parse(query.text(0)).get<llm::Embedding>();
}

double Store::cost_usd() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COALESCE(SUM(cost), 0) FROM calls");
  query.step();
  return query.real(0);
}

StoreCounts Store::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts counts;
  {
    Statement query(
        db_, (std::string("SELECT COUNT(*), COALESCE(SUM(") + kLive + "), 0) FROM tasks").c_str());
    query.step();
    counts.tasks = query.integer(1);
  }
  {
    Statement query(db_, (std::string("SELECT COUNT(*) FROM tasks WHERE ") + kRepeat).c_str());
    query.step();
    counts.duplicates = query.integer(0);
  }
  {
    Statement query(db_, "SELECT COUNT(*) FROM near_duplicates");
    query.step();
    counts.near_duplicates = query.integer(0);
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
  {
    Statement query(
        db_,
        "SELECT stage, COUNT(*), COALESCE(SUM(tokens_in), 0), "
        "COALESCE(SUM(tokens_out), 0), COALESCE(SUM(cost), 0) FROM calls GROUP BY stage");
    while (query.step()) {
      StageUsage& usage = counts.usage[query.text(0)];
      usage.calls = query.integer(1);
      usage.tokens_in = query.integer(2);
      usage.tokens_out = query.integer(3);
      usage.cost_usd = query.real(4);
      counts.cost_usd += usage.cost_usd;
    }
  }
  return counts;
}

std::int64_t Store::finished_since(const std::string& stage, const std::string& since) {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COUNT(*) FROM results WHERE stage = ? AND finished_at >= ?");
  query.bind(1, stage).bind(2, since);
  query.step();
  return query.integer(0);
}

std::int64_t Store::tasks_through(const std::string& last_stage, const std::string& since) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT COUNT(DISTINCT task) FROM results WHERE finished_at >= ? AND (stage = ? "
                  "OR status IN ('rejected', 'failed'))");
  query.bind(1, since).bind(2, last_stage);
  query.step();
  return query.integer(0);
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

std::string Store::run_uid() {
  Statement query(db_, "SELECT value FROM meta WHERE key = 'uid'");
  return query.step() ? query.text(0) : std::string();
}

void Store::merge_from(const std::filesystem::path& other_run_dir) {
  const std::filesystem::path other = other_run_dir / kStoreFile;
  if (!std::filesystem::exists(other)) {
    throw core::Error("cannot merge " + other_run_dir.string() + ": it holds no " + kStoreFile +
                      " (is it a synth run?)");
  }
  std::lock_guard lock(mutex_);
  {
    Statement attach(db_, "ATTACH DATABASE ? AS shard");
    attach.bind(1, other.string()).step();
  }
  try {
    const std::string shard_uid = [&] {
      Statement uid(db_, "SELECT value FROM shard.meta WHERE key = 'uid'");
      return uid.step() ? uid.text(0) : other.string();
    }();
    if (shard_uid == run_uid()) {
      throw core::Error("cannot merge " + other_run_dir.string() + " into itself");
    }
    {
      Statement seen(db_, "SELECT at FROM merged WHERE uid = ?");
      if (seen.bind(1, shard_uid).step()) {
        throw core::Error(other_run_dir.string() + " was merged here already (at " + seen.text(0) +
                          "); merging it again would count its teacher calls twice");
      }
    }
    exec("BEGIN IMMEDIATE");
    try {
      exec("INSERT OR IGNORE INTO batches SELECT * FROM shard.batches");
      exec(
          "INSERT OR IGNORE INTO tasks(id, batch, norm, query, tools, files) "
          "SELECT id, batch, norm, query, tools, files FROM shard.tasks");
      exec("INSERT OR IGNORE INTO near_duplicates SELECT * FROM shard.near_duplicates");
      exec("INSERT OR IGNORE INTO embeddings SELECT * FROM shard.embeddings");
      // The trajectory records name the shard's folders: they name this run's from now on.
      Statement results(db_,
                        "INSERT OR IGNORE INTO results SELECT task, stage, status, "
                        "replace(output, ?, ?), error, prompt_version, tokens_in, tokens_out, "
                        "finished_at FROM shard.results");
      results.bind(1, std::filesystem::absolute(other_run_dir).string())
          .bind(2, std::filesystem::absolute(path_.parent_path()).string())
          .step();
      exec(
          "INSERT INTO calls(stage, task, batch, attempt, request, reply, tokens_in, tokens_out, "
          "error, at, cost, request_key) SELECT stage, task, batch, attempt, request, reply, "
          "tokens_in, tokens_out, error, at, cost, request_key FROM shard.calls ORDER BY id");
      Statement record(db_, "INSERT INTO merged(uid, path, at) VALUES(?, ?, ?)");
      record.bind(1, shard_uid).bind(2, other_run_dir.string()).bind(3, core::utc_now()).step();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (...) {
    sqlite3_exec(db_, "DETACH DATABASE shard", nullptr, nullptr, nullptr);
    throw;
  }
  exec("DETACH DATABASE shard");
}

}  // namespace mat::synth

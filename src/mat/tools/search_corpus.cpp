#include "mat/tools/search_corpus.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>
#include <string_view>
#include <utility>

#include "mat/core/error.h"
#include "mat/core/unique_fd.h"

namespace mat::tools {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFormat = "mat-search-corpus";
// Bump when the tables change; open() refuses other versions instead of misreading them.
constexpr std::string_view kSchemaVersion = "1";
constexpr std::string_view kRebuild = "; rebuild it with `mat index`";

// A match in the title says more about what a document is about than one in its body.
constexpr std::string_view kRanking = "bm25(docs, 10.0, 1.0)";
// Past this a query is a pasted paragraph, not a search: more words only make it slower.
constexpr size_t kMaxQueryWords = 32;
constexpr size_t kMaxDocumentBytes = 8 << 20;

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

// Prepares `sql`; on failure returns null and leaves the error code in `rc`.
Statement try_prepare(sqlite3* db, std::string_view sql, int& rc) {
  sqlite3_stmt* statement = nullptr;
  rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  return Statement(rc == SQLITE_OK ? statement : nullptr);
}

Statement prepare(sqlite3* db, std::string_view sql, const std::string& context) {
  int rc = SQLITE_OK;
  Statement statement = try_prepare(db, sql, rc);
  if (!statement) throw core::Error(context + ": " + sqlite3_errmsg(db));
  return statement;
}

void execute(sqlite3* db, const char* sql, const std::string& context) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw core::Error(context + ": " + sqlite3_errmsg(db));
  }
}

void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

std::string column_text(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  return text ? std::string(text, sqlite3_column_bytes(statement, column)) : std::string();
}

// The meta value under `key`, or nullopt. Throws core::Error saying what `db` is when the
// table cannot be read: that is the first read, so it tells a corpus from anything else.
std::optional<std::string> meta_value(sqlite3* db, const fs::path& path, std::string_view key) {
  int rc = SQLITE_OK;
  Statement statement = try_prepare(db, "SELECT value FROM meta WHERE key = ?", rc);
  if (!statement) {
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
      throw core::Error(quoted(path) + " is not an SQLite database, or is damaged (" +
                        sqlite3_errmsg(db) + "); give the path of a corpus built by `mat index`");
    }
    throw core::Error(quoted(path) + " is an SQLite database but not a mat search corpus (" +
                      sqlite3_errmsg(db) + "); give the path of a corpus built by `mat index`");
  }
  bind_text(statement.get(), 1, key);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return std::nullopt;
  return column_text(statement.get(), 0);
}

bool is_word_byte(unsigned char c) {
  return std::isalnum(c) || c >= 0x80;
}

// The query's words: runs of letters and digits (any non-ASCII byte counts as a letter, so
// words in other scripts survive). Everything else separates words, as it does for the FTS5
// tokenizer, so nothing the user types can reach the FTS5 query parser as syntax.
std::vector<std::string> words_of(std::string_view query) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < query.size() && words.size() < kMaxQueryWords) {
    while (i < query.size() && !is_word_byte(query[i])) ++i;
    size_t start = i;
    while (i < query.size() && is_word_byte(query[i])) ++i;
    if (i > start) words.emplace_back(query.substr(start, i - start));
  }
  return words;
}

// Each word as an FTS5 string ("..."), so AND, OR, NOT, NEAR and * in it are plain words; the
// words never contain '"', the one character a string would need escaped.
std::string match_expression(const std::vector<std::string>& words, std::string_view joiner) {
  std::string match;
  for (const std::string& word : words) {
    if (!match.empty()) match += joiner;
    match += '"' + word + '"';
  }
  return match;
}

}  // namespace

SearchCorpus::SearchCorpus(fs::path path, std::shared_ptr<sqlite3> db, size_t size)
    : path_(std::move(path)), db_(std::move(db)), size_(size) {}

SearchCorpus SearchCorpus::open(const fs::path& db) {
  std::error_code ec;
  fs::file_status status = fs::status(db, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw core::Error("cannot open search corpus " + quoted(db) + ": " + ec.message());
  }
  if (!fs::exists(status)) {
    throw core::Error("search corpus " + quoted(db) + " does not exist; build it with `mat index`");
  }
  if (!fs::is_regular_file(status)) {
    throw core::Error("search corpus " + quoted(db) + " is not a file; give the database file");
  }
  sqlite3* raw = nullptr;
  // FULLMUTEX: one connection serves every thread that searches (see run_match()).
  int rc = sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr);
  Connection connection(raw);
  if (rc != SQLITE_OK) {
    throw core::Error("cannot open search corpus " + quoted(db) + ": " +
                      (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  if (meta_value(raw, db, "format") != kFormat) {
    throw core::Error(
        quoted(db) + " is not a mat search corpus; give the path of a corpus built by `mat index`");
  }
  std::optional<std::string> version = meta_value(raw, db, "schema_version");
  if (version != kSchemaVersion) {
    throw core::Error("search corpus " + quoted(db) + " has schema version " +
                      version.value_or("(none)") + ", this mat reads version " +
                      std::string(kSchemaVersion) + std::string(kRebuild));
  }
  Statement count = prepare(raw, "SELECT count(*) FROM docs",
                            "search corpus " + quoted(db) + " is damaged" + std::string(kRebuild));
  if (sqlite3_step(count.get()) != SQLITE_ROW) {
    throw core::Error("search corpus " + quoted(db) + " is damaged (" + sqlite3_errmsg(raw) + ")" +
                      std::string(kRebuild));
  }
  auto size = static_cast<size_t>(sqlite3_column_int64(count.get(), 0));
  return SearchCorpus(db, std::move(connection), size);
}

std::vector<SearchHit> SearchCorpus::search(const std::string& query, int max_results) const {
  std::vector<std::string> words = words_of(query);
  if (words.empty() || max_results < 1) return {};
  // Every word must match (AND), as in a web search; when no document has them all, a hit on
  // some of them (OR, ranked by bm25) is more use to the agent than an empty page.
  std::vector<SearchHit> hits = run_match(match_expression(words, " "), max_results);
  if (hits.empty() && words.size() > 1) {
    hits = run_match(match_expression(words, " OR "), max_results);
  }
  return hits;
}

std::vector<SearchHit> SearchCorpus::run_match(const std::string& match, int max_results) const {
  // Prepared per call rather than cached: a statement is not safe to share between threads, and
  // preparing costs microseconds next to the search itself.
  std::string sql = "SELECT title, url, snippet(docs, 1, '**', '**', '...', 24), " +
                    std::string(kRanking) + " FROM docs WHERE docs MATCH ? ORDER BY " +
                    std::string(kRanking) + " LIMIT ?";
  std::string context = "cannot search corpus " + quoted(path_);
  Statement statement = prepare(db_.get(), sql, context);
  bind_text(statement.get(), 1, match);
  sqlite3_bind_int(statement.get(), 2, max_results);
  std::vector<SearchHit> hits;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    // bm25() is lower for better matches; negated so that a higher score is better.
    hits.push_back({.title = column_text(statement.get(), 0),
                    .url = column_text(statement.get(), 1),
                    .snippet = column_text(statement.get(), 2),
                    .score = -sqlite3_column_double(statement.get(), 3)});
  }
  if (rc != SQLITE_DONE) {
    throw core::Error(context + " (" + sqlite3_errmsg(db_.get()) + ")" + std::string(kRebuild));
  }
  return hits;
}

std::optional<std::string> SearchCorpus::document_text(const std::string& url) const {
  const std::string context = "cannot read from corpus " + quoted(path_);
  Statement statement = prepare(db_.get(), "SELECT body FROM docs WHERE url = ? LIMIT 1", context);
  bind_text(statement.get(), 1, url);
  const int rc = sqlite3_step(statement.get());
  if (rc == SQLITE_ROW) return column_text(statement.get(), 0);
  if (rc != SQLITE_DONE) {
    throw core::Error(context + " (" + sqlite3_errmsg(db_.get()) + ")" + std::string(kRebuild));
  }
  return std::nullopt;
}

namespace {

// --- plain_text_document -------------------------------------------------------------------

// The file's bytes, read without following a link at `file` (the walk checked it, but the
// folder may change under it) and without blocking on a FIFO put in its place.
std::string read_small_file(const fs::path& file) {
  core::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw core::Error(std::string("cannot open it: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw core::Error("not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > kMaxDocumentBytes) {
    throw core::Error("larger than " + std::to_string(kMaxDocumentBytes >> 20) + " MiB");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw core::Error(std::string("cannot read it: ") + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// Binary files with a text extension are refused here: their bytes would come back in snippets
// that the agent's JSON cannot carry. Strict RFC 3629: no overlong forms, no surrogates.
bool is_utf8_text(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c == 0) {
      return false;
    } else if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      low = c == 0xE0 ? 0xA0 : low;
      high = c == 0xED ? 0x9F : high;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      low = c == 0xF0 ? 0x90 : low;
      high = c == 0xF4 ? 0x8F : high;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Runs of white space as one space, so that snippets read as running text.
std::string collapse_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The first ATX heading ("# Title", any level) outside fenced code blocks, or "".
std::string markdown_title(std::string_view text) {
  bool in_fence = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t indent = line.find_first_not_of(' ');
    if (indent == std::string_view::npos || indent > 3) continue;
    line.remove_prefix(indent);
    if (line.starts_with("```") || line.starts_with("~~~")) in_fence = !in_fence;
    size_t hashes = line.find_first_not_of('#');
    if (in_fence || hashes == 0 || hashes > 6 || hashes == std::string_view::npos) continue;
    if (line[hashes] != ' ' && line[hashes] != '\t') continue;
    std::string_view title = line.substr(hashes);
    title = title.substr(0, title.find_last_not_of(" \t\r#") + 1);
    return collapse_spaces(title);
  }
  return "";
}

void decode_entities(std::string& text) {
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},  {"&quot;", "\""},
      {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto entity = std::find_if(std::begin(kEntities), std::end(kEntities), [&](const auto& e) {
      return std::string_view(text).substr(i).starts_with(e.first);
    });
    if (text[i] == '&' && entity != std::end(kEntities)) {
      out += entity->second;
      i += entity->first.size() - 1;
    } else {
      out += text[i];
    }
  }
  text = std::move(out);
}

// Just past the first `end` at or after `from` in `folded`, or npos.
size_t past(std::string_view folded, std::string_view end, size_t from) {
  size_t at = from == std::string_view::npos ? from : folded.find(end, from);
  return at == std::string_view::npos ? at : at + end.size();
}

// Just past the tag, comment, script or style element that starts at `open`, or npos.
size_t skip_markup(std::string_view folded, size_t open) {
  std::string_view rest = folded.substr(open);
  if (rest.starts_with("<!--")) return past(folded, "-->", open);
  for (std::string_view element : {"script", "style"}) {
    if (rest.substr(1).starts_with(element)) {
      return past(folded, ">", folded.find("</" + std::string(element), open));
    }
  }
  return past(folded, ">", open);
}

// The page's visible text: tags become spaces (so words in adjacent blocks stay apart);
// comments, scripts and styles are dropped. `folded` is `html` in lower case, to find tags in.
std::string html_text(std::string_view html, std::string_view folded) {
  std::string text;
  for (size_t i = 0; i < html.size();) {
    size_t open = html.find('<', i);
    text += html.substr(i, open == std::string_view::npos ? open : open - i);
    text += ' ';
    i = open == std::string_view::npos ? open : skip_markup(folded, open);
  }
  decode_entities(text);
  return collapse_spaces(text);
}

std::string html_title(std::string_view html, std::string_view folded) {
  size_t open = folded.find("<title");
  if (open == std::string_view::npos) return "";
  size_t start = folded.find('>', open);
  size_t end = folded.find("</title", open);
  if (start == std::string_view::npos || end == std::string_view::npos || end < start) return "";
  std::string title(html.substr(start + 1, end - start - 1));
  decode_entities(title);
  return collapse_spaces(title);
}

}  // namespace

std::optional<CorpusDocument> plain_text_document(const fs::path& file) {
  std::string extension = lower(file.extension().string());
  bool markdown = extension == ".md" || extension == ".markdown";
  bool html = extension == ".html" || extension == ".htm";
  if (!markdown && !html && extension != ".txt") return std::nullopt;
  std::string bytes = read_small_file(file);
  if (!is_utf8_text(bytes)) throw core::Error("not UTF-8 text");
  if (html) {
    std::string folded = lower(bytes);
    return CorpusDocument{.title = html_title(bytes, folded), .text = html_text(bytes, folded)};
  }
  return CorpusDocument{.title = markdown ? markdown_title(bytes) : "",
                        .text = collapse_spaces(bytes)};
}

namespace {

// --- build_corpus --------------------------------------------------------------------------

// The new corpus while it is written: a file next to the old one (so the final rename stays on
// one file system and is atomic), removed unless the build gets as far as renaming it.
class PendingFile {
 public:
  explicit PendingFile(const fs::path& target) {
    std::mt19937_64 random(std::random_device{}());
    for (int attempt = 0; attempt < 8 && path_.empty(); ++attempt) {
      fs::path candidate = target;
      candidate += ".tmp-" + std::to_string(random() % 1000000000);
      // 0666 and the umask, as SQLite would create it.
      core::UniqueFd fd(::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd) path_ = candidate;
      if (!fd && errno != EEXIST) break;
    }
    if (path_.empty()) {
      throw core::Error("cannot create the new search corpus next to " + quoted(target) + ": " +
                        std::strerror(errno));
    }
  }
  ~PendingFile() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const fs::path& path() const { return path_; }

  // Renames the file over `target`; from then on it is no longer ours to remove.
  void commit(const fs::path& target) {
    std::error_code ec;
    fs::rename(path_, target, ec);
    if (ec) {
      throw core::Error("cannot replace search corpus " + quoted(target) + ": " + ec.message());
    }
    path_.clear();
  }

 private:
  fs::path path_;
};

// What the walk found at one path: a file to index, or the reason it is skipped.
struct Found {
  fs::path path;
  std::optional<std::string> skip_reason;
};

// Every file below `root`, sorted by path so that a corpus is the same however the file system
// orders its folders. Links to folders are not descended into, links to files are not read, and
// a folder that cannot be read is reported rather than ending the walk.
std::vector<Found> walk(const fs::path& root, const std::vector<fs::path>& outputs) {
  std::vector<Found> found;
  try {
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const fs::path& path = it->path();
      fs::file_status status = it->symlink_status();
      if (fs::is_directory(status)) {
        if (::access(path.c_str(), R_OK | X_OK) != 0) {
          found.push_back({path, std::string("cannot read the folder: ") + std::strerror(errno)});
          it.disable_recursion_pending();
        }
        continue;
      }
      if (std::find(outputs.begin(), outputs.end(), path) != outputs.end()) continue;
      if (fs::is_symlink(status)) {
        found.push_back({path, "symbolic link, not followed"});
      } else if (!fs::is_regular_file(status)) {
        found.push_back({path, "not a regular file"});
      } else {
        found.push_back({path, std::nullopt});
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw core::Error("cannot read the documents folder " + quoted(root) + ": " +
                      e.code().message() + " (" + e.path1().string() + ")");
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.path < b.path; });
  return found;
}

void write_schema(sqlite3* db, const std::string& context) {
  execute(db,
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
          // porter: "indexing" finds "index"; remove_diacritics: "cafe" finds "café".
          "CREATE VIRTUAL TABLE docs USING fts5(title, body, url UNINDEXED,"
          " tokenize = 'porter unicode61 remove_diacritics 2');",
          context);
  Statement meta = prepare(db, "INSERT INTO meta(key, value) VALUES (?, ?)", context);
  for (auto [key, value] : {std::pair{"format", kFormat}, {"schema_version", kSchemaVersion}}) {
    bind_text(meta.get(), 1, key);
    bind_text(meta.get(), 2, value);
    if (sqlite3_step(meta.get()) != SQLITE_DONE) {
      throw core::Error(context + ": " + sqlite3_errmsg(db));
    }
    sqlite3_reset(meta.get());
  }
}

// Converts and inserts every file in `files` that is not already marked as skipped.
IndexStats insert_documents(sqlite3* db, const fs::path& root, const std::vector<Found>& files,
                            const DocumentConverter& to_text, const std::string& context) {
  Statement insert = prepare(db, "INSERT INTO docs(title, body, url) VALUES (?, ?, ?)", context);
  IndexStats stats;
  auto skip = [&](const fs::path& path, const std::string& reason) {
    ++stats.skipped;
    stats.skipped_reasons.push_back(path.lexically_relative(root).string() + ": " + reason);
  };
  for (const Found& found : files) {
    if (found.skip_reason) {
      skip(found.path, *found.skip_reason);
      continue;
    }
    std::optional<CorpusDocument> document;
    try {
      document = to_text(found.path);
    } catch (const core::Error& e) {
      skip(found.path, e.what());
      continue;
    }
    if (!document) {
      skip(found.path, "unsupported file type");
      continue;
    }
    std::string title = document->title.empty() ? found.path.filename().string() : document->title;
    std::string url = "file://" + found.path.string();
    bind_text(insert.get(), 1, title);
    bind_text(insert.get(), 2, document->text);
    bind_text(insert.get(), 3, url);
    if (sqlite3_step(insert.get()) != SQLITE_DONE) {
      throw core::Error(context + " (" + found.path.string() + "): " + sqlite3_errmsg(db));
    }
    sqlite3_reset(insert.get());
    ++stats.added;
  }
  return stats;
}

}  // namespace

IndexStats build_corpus(const fs::path& source_dir, const fs::path& db,
                        const DocumentConverter& to_text) {
  fs::path root = fs::absolute(source_dir).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw core::Error("documents folder " + quoted(source_dir) + " is not a folder");
  }
  fs::path target = fs::absolute(db).lexically_normal();
  PendingFile pending(target);
  std::string context = "cannot write search corpus " + quoted(pending.path());

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(pending.path().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Connection connection(raw);
  if (rc != SQLITE_OK) {
    throw core::Error(context + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  // No rollback journal: a failed build throws the whole file away.
  execute(raw, "PRAGMA journal_mode = OFF; BEGIN", context);
  write_schema(raw, context);
  IndexStats stats =
      insert_documents(raw, root, walk(root, {target, pending.path()}), to_text, context);
  // One merged index instead of one segment per batch of inserts: faster searches.
  execute(raw, "INSERT INTO docs(docs) VALUES ('optimize'); COMMIT", context);
  if (sqlite3_close(connection.release()) != SQLITE_OK) {
    throw core::Error(context + ": cannot close it");
  }

  // An existing corpus keeps its permissions (it may be shared with a service's user).
  fs::file_status old_status = fs::status(target, ec);
  if (!ec && fs::is_regular_file(old_status)) {
    fs::permissions(pending.path(), old_status.permissions(), ec);
  }
  pending.commit(target);
  return stats;
}

}  // namespace mat::tools

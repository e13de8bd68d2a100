// The offline search corpus behind `web_search` and `ask_search_agent`: a folder of documents
// indexed once into an SQLite FTS5 database, then searched read-only with bm25 ranking. The
// database file is the whole corpus, so it can be built on one machine and copied to another.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace mat::tools {

struct SearchHit {
  std::string title;
  std::string url;      // file:// and the document's absolute path when it was indexed
  std::string snippet;  // matched terms as **term**, cut text as "..."
  double score = 0;     // bm25 relevance, higher is better; comparable within one search only
};

class SearchCorpus {
 public:
  // Opens `db` read-only. Throws core::Error when it is missing, is not an SQLite database, is
  // not a mat corpus or was built with another schema version (each message says to rebuild it
  // with `mat index`).
  static SearchCorpus open(const std::filesystem::path& db);

  // The best `max_results` documents for `query`, best first. Any text is a valid query: it is
  // reduced to its words, so quotes and FTS5 operators in it are searched as plain words. No
  // words or `max_results` < 1: no hits. Safe to call from several threads at once.
  std::vector<SearchHit> search(const std::string& query, int max_results) const;

  // The indexed text of the document at `url` (a SearchHit's), or nullopt when there is none.
  std::optional<std::string> document_text(const std::string& url) const;

  // Number of documents.
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SearchCorpus(std::filesystem::path path, std::shared_ptr<sqlite3> db, size_t size);
  std::vector<SearchHit> run_match(const std::string& match, int max_results) const;

  std::filesystem::path path_;
  std::shared_ptr<sqlite3> db_;  // one connection, shared by copies and threads (FULLMUTEX)
  size_t size_ = 0;
};

// A document's searchable form. An empty title is replaced by the file's name.
struct CorpusDocument {
  std::string title;
  std::string text;
};

// Converts a file to a CorpusDocument; std::nullopt when its type is not supported. Throws
// core::Error when a supported file cannot be read; build_corpus skips it with that message.
using DocumentConverter =
    std::function<std::optional<CorpusDocument>(const std::filesystem::path&)>;

// .txt, .md/.markdown and .html/.htm files that are valid UTF-8 and at most 8 MiB. The title is
// the first markdown heading of a .md file or the <title> of an HTML page; HTML tags, scripts and
// styles are stripped from the text and the common entities decoded.
std::optional<CorpusDocument> plain_text_document(const std::filesystem::path& file);

struct IndexStats {
  size_t added = 0;
  size_t skipped = 0;
  std::vector<std::string> skipped_reasons;  // "relative/path: why", one per skipped file
};

// Indexes every regular file below `source_dir` (symbolic links are skipped, never followed)
// into a new corpus that replaces `db` atomically: it is written into a temporary file next to
// `db` in one transaction and renamed over `db` at the end, so a build that fails leaves the old
// corpus as it was. Throws core::Error when the folder or the database cannot be read or
// written; an exception from `to_text` other than core::Error ends the build and propagates.
IndexStats build_corpus(const std::filesystem::path& source_dir, const std::filesystem::path& db,
                        const DocumentConverter& to_text = plain_text_document);

}  // namespace mat::tools

#include "mat/engine/text_corpus.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

#include "mat/core/error.h"
#include "mat/engine/utf8.h"

namespace mat::engine {

namespace {

namespace fs = std::filesystem;

// FNV-1a of a path inside its corpus folder: the fixed shuffle that spreads a byte budget over the
// whole corpus. Relative, so that the same files give the same order wherever the folder lies.
std::uint64_t path_hash(const fs::path& path) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : path.string()) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The files of `paths`, each file once: the paths from the smallest (in bytes) to the largest,
// the files of a folder in a fixed shuffle (a hash of each path).
std::vector<fs::path> corpus_files(const std::vector<fs::path>& paths) {
  struct Group {
    std::vector<fs::path> files;
    std::uintmax_t bytes = 0;
  };
  std::vector<Group> groups;
  for (const fs::path& p : paths) {
    std::error_code ec;
    Group& group = groups.emplace_back();
    if (fs::is_regular_file(p, ec)) {
      group.files.push_back(p);
    } else if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(
               p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) group.files.push_back(it->path());
      }
    } else {
      throw core::Error("corpus path '" + p.string() +
                        "' is neither a file nor a folder; give text files or folders of them");
    }
    for (const fs::path& f : group.files) {
      const std::uintmax_t size = fs::file_size(f, ec);
      if (!ec) group.bytes += size;
    }
    std::sort(group.files.begin(), group.files.end(), [&p](const fs::path& a, const fs::path& b) {
      const fs::path ra = a.lexically_relative(p);
      const fs::path rb = b.lexically_relative(p);
      const std::uint64_t ha = path_hash(ra);
      const std::uint64_t hb = path_hash(rb);
      return ha != hb ? ha < hb : ra < rb;
    });
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.bytes < b.bytes; });
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  for (Group& group : groups) {
    for (fs::path& f : group.files) {
      if (seen.insert(f).second) files.push_back(std::move(f));
    }
  }
  return files;
}

// Up to `limit` bytes of the file (cut at a line break when longer); empty when unreadable.
std::string read_prefix(const fs::path& file, std::size_t limit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limit) {
    const std::size_t cut = text.rfind('\n', limit - 1);
    text.resize(cut == std::string::npos ? 0 : cut + 1);
  }
  return text;
}

}  // namespace

CorpusStats for_each_corpus_text(const std::vector<fs::path>& paths, const CorpusOptions& options,
                                 const CorpusText& text) {
  CorpusStats stats;
  for (const fs::path& file : corpus_files(paths)) {
    if (stats.bytes >= options.max_bytes) break;
    const std::string content =
        read_prefix(file, std::min(options.max_file_bytes, options.max_bytes - stats.bytes));
    if (content.empty()) continue;
    if (content.find('\0') != std::string::npos || !is_valid_utf8(content)) {
      ++stats.skipped;
      continue;
    }
    text(file, content);
    ++stats.files;
    stats.bytes += content.size();
  }
  if (stats.files == 0) {
    std::string list;
    for (const fs::path& p : paths) list += (list.empty() ? "" : ", ") + p.string();
    throw core::Error("the corpus (" + list +
                      ") holds no UTF-8 text file; give source code or documentation files");
  }
  return stats;
}

}  // namespace mat::engine

#include "mat/synth/query_dedupe.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <utility>

#include "mat/core/error.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;

constexpr size_t kEmbedBatch = 64;  // texts per embeddings request when catching up

template <typename T>
bool read_value(std::istream& in, T& value) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&value), sizeof value));
}

// The embeddings file's records by normalised text; a record cut short by a crash ends it.
std::map<std::string, llm::Embedding> read_embeddings(const fs::path& path) {
  std::map<std::string, llm::Embedding> vectors;
  std::ifstream in(path, std::ios::binary);
  std::uint32_t length = 0, dim = 0;
  while (read_value(in, length)) {
    std::string text(length, '\0');
    if (!in.read(text.data(), length) || !read_value(in, dim)) break;
    llm::Embedding vector(dim);
    if (!in.read(reinterpret_cast<char*>(vector.data()),
                 static_cast<std::streamsize>(dim * sizeof(float)))) {
      break;
    }
    vectors[std::move(text)] = std::move(vector);
  }
  return vectors;
}

std::vector<llm::Embedding> embed_texts(llm::Embedder& embedder,
                                        const std::vector<std::string>& texts) {
  std::vector<llm::Embedding> vectors = embedder.embed(texts);
  if (vectors.size() != texts.size()) {
    throw core::Error("the embedder " + embedder.model_name() + " returned " +
                      std::to_string(vectors.size()) + " vectors for " +
                      std::to_string(texts.size()) + " queries");
  }
  return vectors;
}

// Appends `text`'s embedding to the file.
void append_embedding(const fs::path& path, const std::string& text, const llm::Embedding& vector) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  const auto length = static_cast<std::uint32_t>(text.size());
  const auto dim = static_cast<std::uint32_t>(vector.size());
  out.write(reinterpret_cast<const char*>(&length), sizeof length);
  out.write(text.data(), length);
  out.write(reinterpret_cast<const char*>(&dim), sizeof dim);
  out.write(reinterpret_cast<const char*>(vector.data()),
            static_cast<std::streamsize>(vector.size() * sizeof(float)));
  if (!out.flush()) throw core::Error("cannot write " + path.string());
}

}  // namespace

void merge_query_embeddings(const fs::path& run_dir, const fs::path& shard_dir) {
  const fs::path file = shard_dir / kQueryDedupeDir / kQueryEmbeddingsFile;
  if (!fs::exists(file)) return;
  const fs::path target = run_dir / kQueryDedupeDir / kQueryEmbeddingsFile;
  fs::create_directories(target.parent_path());
  const std::map<std::string, llm::Embedding> known = read_embeddings(target);
  for (const auto& [text, vector] : read_embeddings(file)) {
    if (known.count(text) == 0) append_embedding(target, text, vector);
  }
}

QueryDedupe::QueryDedupe(fs::path run_dir, llm::Embedder& embedder, double threshold, Store& store)
    : dir_(std::move(run_dir) / kQueryDedupeDir),
      embedder_(embedder),
      threshold_(threshold),
      store_(store) {
  fs::create_directories(dir_);
  vectors_ = read_embeddings(dir_ / kQueryEmbeddingsFile);
}

void QueryDedupe::embed(const std::vector<QuerySpec>& queries) {
  std::vector<std::string> texts;
  for (const QuerySpec& spec : queries) texts.push_back(normalised_text(spec.query));
  vectors_of(texts);
}

std::vector<llm::Embedding> QueryDedupe::vectors_of(const std::vector<std::string>& texts) {
  std::vector<std::string> missing;
  {
    std::lock_guard lock(mutex_);
    for (const std::string& text : texts) {
      if (vectors_.count(text) == 0 &&
          std::find(missing.begin(), missing.end(), text) == missing.end()) {
        missing.push_back(text);
      }
    }
  }
  for (size_t from = 0; from < missing.size(); from += kEmbedBatch) {
    const std::vector<std::string> part(
        missing.begin() + static_cast<long>(from),
        missing.begin() + static_cast<long>(std::min(missing.size(), from + kEmbedBatch)));
    const std::vector<llm::Embedding> vectors = embed_texts(embedder_, part);  // unlocked
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < part.size(); ++i) {
      if (vectors_.emplace(part[i], vectors[i]).second) {
        append_embedding(dir_ / kQueryEmbeddingsFile, part[i], vectors[i]);
      }
    }
  }
  std::lock_guard lock(mutex_);
  std::vector<llm::Embedding> found;
  for (const std::string& text : texts) found.push_back(vectors_.at(text));
  return found;
}

std::int64_t QueryDedupe::screen(const std::vector<TaskRow>& rows) {
  std::vector<std::string> texts;
  for (const TaskRow& row : rows) texts.push_back(normalised_text(row.spec.query));
  const std::vector<llm::Embedding> vectors = vectors_of(texts);
  std::int64_t marked = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::optional<VectorIndex::Hit> hit = index_ ? index_->nearest(vectors[i]) : std::nullopt;
    if (hit && hit->similarity >= threshold_) {
      store_.mark_near_duplicate(rows[i].id, kept_ids_.at(static_cast<size_t>(hit->id)),
                                 hit->similarity);
      ++marked;
      continue;
    }
    if (!index_) index_ = std::make_unique<VectorIndex>(vectors[i].size());
    index_->add(vectors[i]);
    kept_ids_.push_back(rows[i].id);
  }
  return marked;
}

}  // namespace mat::synth

// Near-duplicate queries by meaning, after the store's exact check on normalised text. A task is
// a near-duplicate when its query's embedding reaches the run's cosine threshold against the
// query of a kept task of lower id (an earlier batch, or earlier in its own batch); it is marked
// in the store (Store::mark_near_duplicate, with the task it repeats), never removed, so task ids
// never shift and which task survives does not depend on the order batches finish in.
//
// Embedding happens when a batch is made (in parallel, before the batch is recorded); the
// comparison happens once every earlier batch is recorded (screen(), in id order). What it keeps:
//
//   RUN/query_dedupe/embeddings.bin  the embedding of every query proposed, by normalised text
//                                     (records: u32 length, text, u32 dim, dim floats), so a
//                                     resumed run (or a replay of it) embeds nothing again
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mat/llm/embedder.h"
#include "mat/synth/store.h"
#include "mat/synth/vector_index.h"

namespace mat::synth {

inline constexpr const char* kQueryDedupeDir = "query_dedupe";
inline constexpr const char* kQueryEmbeddingsFile = "embeddings.bin";

// Adds to RUN/query_dedupe/ the query embeddings of `shard_dir` (a shard run) that it lacks, so
// that the merged run screens its batches without embedding them again.
void merge_query_embeddings(const std::filesystem::path& run_dir,
                            const std::filesystem::path& shard_dir);

class QueryDedupe {
 public:
  // `threshold`: the cosine similarity from which two queries are duplicates; marks go to
  // `store`.
  QueryDedupe(std::filesystem::path run_dir, llm::Embedder& embedder, double threshold,
              Store& store);

  // Embeds the queries not embedded yet (kept in memory and in the file). Thread-safe. Throws
  // llm::ModelError when the embedder fails.
  void embed(const std::vector<QuerySpec>& queries);

  // Compares `rows` (live tasks by ascending id; every live task of lower id was screened
  // before) with the kept ones and marks the near-duplicates in the store. Returns how many it
  // marked. Not thread-safe against itself (the pipeline calls it under its lock).
  std::int64_t screen(const std::vector<TaskRow>& rows);

 private:
  // The embeddings of `texts` (normalised), from memory or the embedder.
  std::vector<llm::Embedding> vectors_of(const std::vector<std::string>& texts);

  std::filesystem::path dir_;
  llm::Embedder& embedder_;
  double threshold_;
  Store& store_;
  std::mutex mutex_;                               // guards vectors_ and the file
  std::map<std::string, llm::Embedding> vectors_;  // by normalised text
  std::vector<std::int64_t> kept_ids_;             // task id by index position
  std::unique_ptr<VectorIndex> index_;             // made when the first embedding shows the length
};

}  // namespace mat::synth

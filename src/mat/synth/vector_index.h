// A nearest-neighbour index of embeddings by cosine similarity, on faiss: the synth run's image
// pool (captions) and its query de-duplication. Vectors are normalised on the way in, so inner
// product is cosine. Up to kExactFloats floats the search is exact (IndexFlatIP); above, flat
// search would read every vector per query (100K captions × 768 dims = 300 MB, tens of
// milliseconds), so build() trains an inverted-file index (IndexIVFFlat) that reads only the
// nearest clusters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace faiss {
struct Index;
}

namespace mat::synth {

class VectorIndex {
 public:
  // Vectors × dimensions up to which build() keeps the exact index (32 MB of floats).
  static constexpr size_t kExactFloats = size_t{8} << 20;

  // An empty exact index of `dim`-long vectors, grown with add().
  explicit VectorIndex(size_t dim);
  // An index of `count` vectors of `dim` floats (row-major, normalised here; a zero vector stays
  // zero): exact up to `exact_floats` (count × dim), an inverted-file index above. Throws
  // core::Error when `dim` is 0 or `vectors` is not count × dim long.
  static VectorIndex build(std::vector<float> vectors, size_t dim,
                           size_t exact_floats = kExactFloats);
  // Reads an index save() wrote. Throws core::Error naming the file.
  static VectorIndex load(const std::filesystem::path& path);

  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;
  ~VectorIndex();

  // Appends `vectors` (a multiple of dim() long), numbered on from size().
  void add(std::vector<float> vectors);
  // Writes the index to `path` (whole or not at all). Throws core::Error naming the file.
  void save(const std::filesystem::path& path) const;

  struct Hit {
    std::int64_t id = 0;   // the vector's position, in the order added
    float similarity = 0;  // cosine, in [-1, 1]
  };
  // The stored vector nearest `query` (dim() floats); nullopt when the index is empty. Safe to
  // call from several threads at once (not together with add()).
  std::optional<Hit> nearest(std::span<const float> query) const;

  size_t size() const;
  size_t dim() const { return dim_; }
  bool exact() const;  // a flat index (every vector compared), or an inverted-file one

 private:
  VectorIndex(std::unique_ptr<faiss::Index> index, size_t dim);
  std::unique_ptr<faiss::Index> index_;
  size_t dim_ = 0;
};

// `vector` scaled to length 1 (unchanged when all zeros).
void normalise(std::span<float> vector);

}  // namespace mat::synth

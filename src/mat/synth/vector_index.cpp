#include "mat/synth/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "mat/core/error.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;

// Inverted lists: about √n of them, each of about √n vectors; a query reads the nearest
// 1/kProbeShare of them (at least kMinProbes): 3% of a 100K pool, which keeps a query under 5 ms
// at 1536 dimensions with Debian's faiss (no AVX2 kernels) and still finds a near copy's own
// vector (the bench measures both).
constexpr size_t kMinLists = 16;
constexpr size_t kMaxLists = 4096;
constexpr size_t kProbeShare = 32;  // nprobe = nlist / kProbeShare
constexpr size_t kMinProbes = 8;
constexpr int kTrainIterations = 10;  // k-means rounds: more barely moves the centroids
// k-means trains on this many vectors per list (faiss's default, 256, trains a 100K pool on all
// of it: minutes with Debian's reference BLAS); the lists' quality hardly changes.
constexpr int kTrainPointsPerList = 64;

void normalise_rows(std::vector<float>& vectors, size_t dim) {
  for (size_t at = 0; at + dim <= vectors.size(); at += dim) {
    normalise(std::span<float>(vectors.data() + at, dim));
  }
}

void check_length(const std::vector<float>& vectors, size_t dim) {
  if (dim == 0) throw core::Error("a vector index needs vectors of at least one dimension");
  if (vectors.size() % dim != 0) {
    throw core::Error("vectors of " + std::to_string(dim) + " dimensions cannot fill " +
                      std::to_string(vectors.size()) + " floats: the embeddings differ in length");
  }
}

}  // namespace

void normalise(std::span<float> vector) {
  double sum = 0;
  for (const float x : vector) sum += double{x} * x;
  if (sum == 0) return;
  const auto scale = static_cast<float>(1 / std::sqrt(sum));
  for (float& x : vector) x *= scale;
}

VectorIndex::VectorIndex(size_t dim) : VectorIndex(nullptr, dim) {
  if (dim == 0) throw core::Error("a vector index needs vectors of at least one dimension");
  index_ = std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(dim));
}

VectorIndex::VectorIndex(std::unique_ptr<faiss::Index> index, size_t dim)
    : index_(std::move(index)), dim_(dim) {}

VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;
VectorIndex::~VectorIndex() = default;

VectorIndex VectorIndex::build(std::vector<float> vectors, size_t dim, size_t exact_floats) {
  check_length(vectors, dim);
  const size_t count = vectors.size() / dim;
  if (vectors.size() <= exact_floats) {
    VectorIndex index(dim);
    index.add(std::move(vectors));
    return index;
  }
  normalise_rows(vectors, dim);
  const size_t lists =
      std::clamp(static_cast<size_t>(std::sqrt(static_cast<double>(count))), kMinLists, kMaxLists);
  try {
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(dim));
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim, lists,
                                                     faiss::METRIC_INNER_PRODUCT);
    ivf->own_fields = true;
    quantizer.release();
    ivf->cp.niter = kTrainIterations;
    ivf->cp.max_points_per_centroid = kTrainPointsPerList;
    ivf->train(static_cast<faiss::Index::idx_t>(count), vectors.data());
    ivf->add(static_cast<faiss::Index::idx_t>(count), vectors.data());
    ivf->nprobe = std::max(kMinProbes, lists / kProbeShare);
    return VectorIndex(std::move(ivf), dim);
  } catch (const std::exception& e) {
    throw core::Error("building the vector index of " + std::to_string(count) +
                      " vectors failed: " + e.what());
  }
}

VectorIndex VectorIndex::load(const fs::path& path) {
  try {
    std::unique_ptr<faiss::Index> index(faiss::read_index(path.c_str()));
    const auto dim = static_cast<size_t>(index->d);
    return VectorIndex(std::move(index), dim);
  } catch (const std::exception& e) {
    throw core::Error("cannot read the vector index " + path.string() + ": " + e.what() +
                      " (build it again with `mat synth init`)");
  }
}

void VectorIndex::add(std::vector<float> vectors) {
  check_length(vectors, dim_);
  normalise_rows(vectors, dim_);
  index_->add(static_cast<faiss::Index::idx_t>(vectors.size() / dim_), vectors.data());
}

void VectorIndex::save(const fs::path& path) const {
  const fs::path partial = path.string() + ".partial";
  try {
    faiss::write_index(index_.get(), partial.c_str());
  } catch (const std::exception& e) {
    throw core::Error("cannot write the vector index " + path.string() + ": " + e.what());
  }
  std::error_code error;
  fs::rename(partial, path, error);
  if (error) throw core::Error("cannot write " + path.string() + ": " + error.message());
}

std::optional<VectorIndex::Hit> VectorIndex::nearest(std::span<const float> query) const {
  if (query.size() != dim_) {
    throw core::Error("a query vector of " + std::to_string(query.size()) +
                      " dimensions cannot search an index of " + std::to_string(dim_) +
                      " (the embedding model changed since the index was built)");
  }
  if (index_->ntotal == 0) return std::nullopt;
  std::vector<float> unit(query.begin(), query.end());
  normalise(unit);
  float similarity = 0;
  faiss::Index::idx_t id = -1;
  index_->search(1, unit.data(), 1, &similarity, &id);
  if (id < 0) return std::nullopt;  // an inverted-file index whose probed lists were all empty
  return Hit{id, similarity};
}

size_t VectorIndex::size() const {
  return static_cast<size_t>(index_->ntotal);
}

bool VectorIndex::exact() const {
  return dynamic_cast<const faiss::IndexFlat*>(index_.get()) != nullptr;
}

}  // namespace mat::synth

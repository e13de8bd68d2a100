// The image pool of a synth run: a folder of images with a captions file (one JSON object a line,
// {"image": "relative/path.jpg", "caption": "..."}), whose captions `mat synth init` embeds and
// indexes (vector_index.h) in RUN/image_pool/. The images step then gives a task the pool image
// whose caption is nearest the image description the teacher wrote.
//
//   RUN/image_pool/pool.json        where the pool is, the embedder, counts
//   RUN/image_pool/entries.jsonl    the captions in index order
//   RUN/image_pool/embeddings.f32   the embeddings so far, while init runs (resumed from)
//   RUN/image_pool/index.faiss      the index
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mat/llm/embedder.h"
#include "mat/synth/vector_index.h"

namespace mat::synth {

inline constexpr const char* kImagePoolDir = "image_pool";
inline constexpr const char* kCaptionsFile = "captions.jsonl";  // the default, in the pool folder

struct CaptionedImage {
  std::string image;  // relative to the pool folder
  std::string caption;
};

// The captions of `captions_file`, each naming an image that exists in `pool_dir`. Blank lines
// are skipped. Throws core::Error naming the file and line of the first malformed entry (not
// JSON, a field missing, a path leaving the folder) or missing image.
std::vector<CaptionedImage> read_captions(const std::filesystem::path& captions_file,
                                          const std::filesystem::path& pool_dir);

// Told how many captions are embedded so far, of how many.
using PoolProgress = std::function<void(size_t done, size_t total)>;

// Embeds the captions in batches and writes RUN/image_pool/. A build stopped part way (killed, or
// the embedder failed) resumes from the batches already written when run again on the same
// captions. Throws core::Error for bad captions (read_captions) and an embedder failure, saying
// which captions failed and that running again resumes.
void build_image_pool(const std::filesystem::path& run_dir, const std::filesystem::path& pool_dir,
                      const std::filesystem::path& captions_file, llm::Embedder& embedder,
                      const PoolProgress& progress = {});

class ImagePool {
 public:
  // Whether RUN/ holds a finished pool.
  static bool exists(const std::filesystem::path& run_dir);
  // Reads RUN/image_pool/. Throws core::Error when it is missing or damaged.
  static ImagePool load(const std::filesystem::path& run_dir);

  struct Match {
    std::filesystem::path image;  // absolute
    std::string caption;
    float similarity = 0;
  };
  // The image whose caption is nearest `description` (its embedding). Thread-safe. Throws
  // core::Error when the embedding's length is not the index's.
  Match nearest(const llm::Embedding& description) const;

  size_t size() const { return entries_.size(); }
  const std::string& embedder() const { return embedder_; }

 private:
  ImagePool(std::filesystem::path pool_dir, std::vector<CaptionedImage> entries, VectorIndex index,
            std::string embedder);
  std::filesystem::path pool_dir_;
  std::vector<CaptionedImage> entries_;
  VectorIndex index_;
  std::string embedder_;
};

}  // namespace mat::synth

#include "mat/synth/image_pool.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <utility>

#include "mat/core/error.h"
#include "mat/core/image.h"
#include "mat/core/json.h"
#include "mat/core/utc_time.h"
#include "mat/llm/chat_model.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr size_t kEmbedBatch = 64;  // captions per embeddings request
constexpr const char* kPoolFile = "pool.json";
constexpr const char* kEntriesFile = "entries.jsonl";
constexpr const char* kEmbeddingsFile = "embeddings.f32";  // u32 dim, then rows of floats
constexpr const char* kIndexFile = "index.faiss";

// Why `image` (a captions entry) cannot name a file in the pool, or "" when it can.
std::string image_problem(const std::string& image, const fs::path& pool_dir) {
  const fs::path relative(image);
  if (image.empty()) return "\"image\" is empty";
  if (relative.is_absolute()) return "\"image\" must be a path relative to the pool folder";
  for (const fs::path& part : relative) {
    if (part == "..") return "\"image\" must not leave the pool folder (it holds \"..\")";
  }
  if (!core::has_image_extension(relative)) {
    return "\"" + image + "\" does not have an image file extension";
  }
  std::error_code error;
  if (!fs::is_regular_file(pool_dir / relative, error)) {
    return "image \"" + image + "\" is not in " + pool_dir.string();
  }
  return "";
}

std::string entries_text(const std::vector<CaptionedImage>& entries) {
  std::string text;
  for (const CaptionedImage& entry : entries) {
    text += Json{{"image", entry.image}, {"caption", entry.caption}}.dump() + "\n";
  }
  return text;
}

// The rows already in the embeddings file (a partly written last row is cut off), and their
// length; {0, 0} when there is no usable file.
std::pair<size_t, std::uint32_t> embedded_rows(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint32_t dim = 0;
  if (!in.read(reinterpret_cast<char*>(&dim), sizeof dim) || dim == 0) return {0, 0};
  std::error_code error;
  const auto bytes = static_cast<size_t>(fs::file_size(path, error));
  if (error) return {0, 0};
  const size_t rows = (bytes - sizeof dim) / (dim * sizeof(float));
  fs::resize_file(path, sizeof dim + rows * dim * sizeof(float));
  return {rows, dim};
}

std::vector<float> read_rows(const fs::path& path, size_t rows, std::uint32_t dim) {
  std::vector<float> vectors(rows * dim);
  std::ifstream in(path, std::ios::binary);
  in.seekg(sizeof dim);
  in.read(reinterpret_cast<char*>(vectors.data()),
          static_cast<std::streamsize>(vectors.size() * sizeof(float)));
  if (!in) throw core::Error("cannot read the caption embeddings in " + path.string());
  return vectors;
}

std::vector<llm::Embedding> embed_batch(llm::Embedder& embedder,
                                        const std::vector<CaptionedImage>& entries, size_t from,
                                        size_t to) {
  std::vector<std::string> texts;
  for (size_t i = from; i < to; ++i) texts.push_back(entries[i].caption);
  const std::string which = "embedding captions " + std::to_string(from + 1) + "-" +
                            std::to_string(to) + " of " + std::to_string(entries.size());
  const std::string resume =
      "; run the same `mat synth init` again to resume from caption " + std::to_string(from + 1);
  std::vector<llm::Embedding> vectors;
  try {
    vectors = embedder.embed(texts);
  } catch (const core::Error& e) {
    throw core::Error(which + " with " + embedder.model_name() + " failed: " + e.what() + resume);
  }
  if (vectors.size() != texts.size()) {
    throw core::Error(which + ": the embedder returned " + std::to_string(vectors.size()) +
                      " vectors for " + std::to_string(texts.size()) + " texts" + resume);
  }
  return vectors;
}

}  // namespace

std::vector<CaptionedImage> read_captions(const fs::path& captions_file, const fs::path& pool_dir) {
  std::ifstream in(captions_file);
  if (!in) {
    throw core::Error("cannot read the captions file " + captions_file.string() +
                      " (give it with --captions, or put captions.jsonl in the pool folder)");
  }
  std::vector<CaptionedImage> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = captions_file.string() + ":" + std::to_string(number) + ": ";
    const std::string fix =
        "; each line must be {\"image\": \"relative/path.jpg\", \"caption\": "
        "\"...\"}";
    const std::optional<Json> value = core::parse_untrusted_json(line);
    if (!value || !value->is_object()) throw core::Error(where + "not a JSON object" + fix);
    const auto image = value->find("image");
    const auto caption = value->find("caption");
    if (image == value->end() || !image->is_string()) {
      throw core::Error(where + "\"image\" is missing or not a string" + fix);
    }
    if (caption == value->end() || !caption->is_string() ||
        caption->get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
      throw core::Error(where + "\"caption\" is missing, empty or not a string" + fix);
    }
    const std::string problem = image_problem(image->get<std::string>(), pool_dir);
    if (!problem.empty()) throw core::Error(where + problem);
    entries.push_back({image->get<std::string>(), caption->get<std::string>()});
  }
  if (entries.empty()) {
    throw core::Error("the captions file " + captions_file.string() + " holds no captions");
  }
  return entries;
}

void build_image_pool(const fs::path& run_dir, const fs::path& pool_dir,
                      const fs::path& captions_file, llm::Embedder& embedder,
                      const PoolProgress& progress) {
  const std::vector<CaptionedImage> entries = read_captions(captions_file, pool_dir);
  const fs::path dir = run_dir / kImagePoolDir;
  fs::create_directories(dir);
  const std::string listing = entries_text(entries);
  const fs::path embeddings = dir / kEmbeddingsFile;
  std::error_code error;
  if (!fs::exists(dir / kEntriesFile) || core::read_file(dir / kEntriesFile) != listing) {
    fs::remove(embeddings, error);  // made for other captions: start over
    std::ofstream(dir / kEntriesFile, std::ios::binary | std::ios::trunc) << listing;
  }
  auto [done, dim] = embedded_rows(embeddings);
  if (done == 0) {  // nothing usable: a fresh file, whose first batch writes the length
    fs::remove(embeddings, error);
    dim = 0;
  }
  std::ofstream out(embeddings, std::ios::binary | std::ios::app);
  if (progress) progress(done, entries.size());
  while (done < entries.size()) {
    const size_t to = std::min(entries.size(), done + kEmbedBatch);
    const std::vector<llm::Embedding> vectors = embed_batch(embedder, entries, done, to);
    if (dim == 0) {
      dim = static_cast<std::uint32_t>(vectors.front().size());
      out.write(reinterpret_cast<const char*>(&dim), sizeof dim);
    }
    for (const llm::Embedding& vector : vectors) {
      if (vector.size() != dim) {
        throw core::Error("the embedder " + embedder.model_name() + " returned vectors of " +
                          std::to_string(vector.size()) + " and " + std::to_string(dim) +
                          " dimensions; use one model for the whole pool");
      }
      out.write(reinterpret_cast<const char*>(vector.data()),
                static_cast<std::streamsize>(dim * sizeof(float)));
    }
    out.flush();
    if (!out) throw core::Error("cannot write " + embeddings.string());
    done = to;
    if (progress) progress(done, entries.size());
  }
  out.close();
  const VectorIndex index = VectorIndex::build(read_rows(embeddings, done, dim), dim);
  index.save(dir / kIndexFile);
  core::write_json_file(dir / kPoolFile, {{"images", fs::absolute(pool_dir).lexically_normal()},
                                          {"captions", fs::absolute(captions_file)},
                                          {"embedder", embedder.model_name()},
                                          {"count", entries.size()},
                                          {"dim", dim},
                                          {"exact", index.exact()},
                                          {"built_at", core::utc_now()}});
  fs::remove(embeddings, error);  // the index holds them now
}

bool ImagePool::exists(const fs::path& run_dir) {
  return fs::exists(run_dir / kImagePoolDir / kPoolFile);
}

ImagePool ImagePool::load(const fs::path& run_dir) {
  const fs::path dir = run_dir / kImagePoolDir;
  if (!exists(run_dir)) {
    throw core::Error(run_dir.string() + " has no image pool; create the run with " +
                      "`mat synth init --images POOL/`");
  }
  const Json pool = core::read_json_file(dir / kPoolFile);
  std::vector<CaptionedImage> entries;
  const std::string listing = core::read_file(dir / kEntriesFile);
  size_t start = 0;
  for (size_t end = listing.find('\n'); end != std::string::npos;
       start = end + 1, end = listing.find('\n', start)) {
    const Json entry = Json::parse(listing.substr(start, end - start));
    entries.push_back({entry.at("image").get<std::string>(), entry.at("caption")});
  }
  VectorIndex index = VectorIndex::load(dir / kIndexFile);
  if (index.size() != entries.size()) {
    throw core::Error("the image pool in " + dir.string() + " is damaged (" +
                      std::to_string(index.size()) + " vectors for " +
                      std::to_string(entries.size()) + " captions); build the run again");
  }
  return ImagePool(pool.at("images").get<std::string>(), std::move(entries), std::move(index),
                   pool.value("embedder", ""));
}

ImagePool::ImagePool(fs::path pool_dir, std::vector<CaptionedImage> entries, VectorIndex index,
                     std::string embedder)
    : pool_dir_(std::move(pool_dir)),
      entries_(std::move(entries)),
      index_(std::move(index)),
      embedder_(std::move(embedder)) {}

ImagePool::Match ImagePool::nearest(const llm::Embedding& description) const {
  const std::optional<VectorIndex::Hit> hit = index_.nearest(description);
  if (!hit) throw core::Error("the image pool has no image near the description");
  const CaptionedImage& entry = entries_.at(static_cast<size_t>(hit->id));
  return {pool_dir_ / entry.image, entry.caption, hit->similarity};
}

}  // namespace mat::synth

// The offline teacher's image pool: rendered receipts and event posters (for OCR), and collages
// of the Debian-packaged Grace Hopper photo with 0..4 faces (for face detection). Every image is
// a pure function of (seed, kind, index), so the teacher knows what each one shows without
// reading it, and its caption is exactly the description the teacher gives for it: `mat synth`'s
// images stage then retrieves that very image.
//
//   mat teacher pool --out POOL/ --seed 7     # POOL/*.png and POOL/captions.jsonl
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mat::teacher {

namespace pool_kind {
inline constexpr const char* kReceipt = "receipt";  // values: the items' prices in cents
inline constexpr const char* kPoster = "poster";    // values: {days between the two dates}
inline constexpr const char* kFaces = "faces";      // values: {number of faces}
}  // namespace pool_kind

inline constexpr int kPoolImagesPerKind = 30;

// The Debian-packaged face photo the collages are made of (python3-matplotlib's sample data).
inline constexpr const char* kFacePhoto =
    "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";

struct PoolImage {
  std::string kind;
  int index = 0;
  std::string file;                // the pool-relative file name, e.g. "receipt_07.png"
  std::string caption;             // unique in the pool
  std::vector<std::string> lines;  // the text rendered (receipts, posters)
  std::vector<int> values;         // what the families compute with (see pool_kind)
};

// The image `index` of `kind` in the pool of `seed`. Throws core::Error for an unknown kind.
PoolImage pool_image(std::uint64_t seed, const std::string& kind, int index);

// Every image of the pool of `seed`, kind by kind.
std::vector<PoolImage> pool_images(std::uint64_t seed);

// Renders `image` as a PNG at `path` (at most 640 px a side). Throws core::Error when it cannot
// (the face photo missing: install python3-matplotlib).
void render_pool_image(const PoolImage& image, const std::filesystem::path& path);

// Writes the whole pool of `seed` into `dir`, with `dir`/captions.jsonl ({"image", "caption"} a
// line). Returns the number of images.
int write_pool(const std::filesystem::path& dir, std::uint64_t seed);

}  // namespace mat::teacher

#include "mat/teacher/landmarks.h"

#include <fstream>

#include "mat/core/error.h"
#include "mat/teacher/draw.h"

namespace mat::teacher {
namespace {

// Names are an onset and an ending (8 x 8 distinct first words), so that the landmark a search
// is about is the only document with its first word.
const std::vector<std::string> kOnsets{"Kes", "Mar", "Lin", "Bel", "Tor", "Hal", "Ros", "Dun"};
const std::vector<std::string> kEndings{"sler", "wick", "ford", "mere",
                                        "dale", "ton",  "by",   "holt"};
const std::vector<std::string> kKinds{"Tower",      "Bridge", "Library", "Museum",
                                      "Lighthouse", "Mill",   "Chapel",  "Observatory"};
const std::vector<std::string> kTowns{"Avonby",    "Caldmoor",  "Eastwold",  "Fenhurst",
                                      "Greywater", "Highcombe", "Norbridge", "Westreach"};
const std::vector<std::string> kMaterials{"stone", "brick", "timber", "iron"};

// The world does not depend on any seed; this one only fixes its years and heights.
constexpr std::uint64_t kWorldSeed = 20250101;

std::string lower_dashed(std::string text) {
  for (char& c : text) {
    c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

}  // namespace

const std::vector<Landmark>& landmarks() {
  static const std::vector<Landmark> all = [] {
    std::vector<Landmark> list;
    for (size_t onset = 0; onset < kOnsets.size(); ++onset) {
      for (size_t ending = 0; ending < kEndings.size(); ++ending) {
        const size_t index = onset * kEndings.size() + ending;
        const std::string first = kOnsets[onset] + kEndings[ending];
        Rng rng(hash_of(kWorldSeed, {"landmark", first}));
        list.push_back({.name = first + " " + kKinds[(onset + ending) % kKinds.size()],
                        .kind = lower_dashed(kKinds[(onset + ending) % kKinds.size()]),
                        .town = kTowns[index % kTowns.size()],
                        .year = rng.between(1702, 1968),
                        .height_m = rng.between(9, 88)});
      }
    }
    return list;
  }();
  return all;
}

std::string landmark_document(const Landmark& landmark) {
  Rng rng(hash_of(kWorldSeed, {"material", landmark.name}));
  return landmark.name + " is a " + rng.pick(kMaterials) + " " + landmark.kind + " in " +
         landmark.town + ". It was built in " + std::to_string(landmark.year) + " and stands " +
         std::to_string(landmark.height_m) + " metres tall.";
}

int write_landmark_documents(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw core::Error("cannot create " + dir.string() + ": " + error.message());
  for (const Landmark& landmark : landmarks()) {
    const std::filesystem::path path = dir / (lower_dashed(landmark.name) + ".md");
    std::ofstream out(path, std::ios::trunc);
    out << "# " << landmark.name << "\n\n" << landmark_document(landmark) << "\n";
    if (!out.flush()) throw core::Error("cannot write " + path.string());
  }
  return static_cast<int>(landmarks().size());
}

}  // namespace mat::teacher

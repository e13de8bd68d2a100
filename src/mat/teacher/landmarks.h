// The offline teacher's small world for web_search: fictional landmarks, each described by one
// short document. The world is the same for every seed, as the web is the same for every task, so
// that training and held-out tasks search one corpus: `mat teacher corpus` writes its documents
// and `mat index` makes them the corpus that web_search reads (MAT_SEARCH_DB).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mat::teacher {

struct Landmark {
  std::string name;  // "Kessler Tower": its first word names no other landmark
  std::string kind;  // "tower"
  std::string town;
  int year = 0;  // when it was built
  int height_m = 0;
};

// Every landmark, in a fixed order.
const std::vector<Landmark>& landmarks();

// Its document's text: a few sentences, short enough that a search snippet holds all of it.
std::string landmark_document(const Landmark& landmark);

// Writes every landmark's document into `dir` as markdown, "kessler-tower.md" headed
// "# Kessler Tower" (the title a search result shows); returns how many. Throws core::Error when
// `dir` cannot be written.
int write_landmark_documents(const std::filesystem::path& dir);

}  // namespace mat::teacher

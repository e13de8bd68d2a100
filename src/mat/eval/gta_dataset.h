// The GTA benchmark (../shared/spec/benchmarks.md): dataset.json, 229 queries keyed "0".."228",
// and the image/ folder beside it when the user has unpacked the release archive.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/eval/entry_problem.h"

namespace mat::eval {

// Groups of aliases: a group is matched when any one of its aliases is.
using AliasGroups = std::vector<std::vector<std::string>>;

enum class GtaAnswerKind {
  kObjective,        // whitelist / blacklist alias groups
  kSubjective,       // reference sentences, scored by meaning
  kImageGeneration,  // no text answer: scored through the generation tools' arguments
};

const char* to_string(GtaAnswerKind kind);

struct GtaFile {
  std::string type;  // "image"
  std::string path;  // relative to the dataset's folder: "image/image_1.jpg"
};

// One reference tool call of the dialog.
struct GtaToolCall {
  std::string name;
  core::Json arguments;
};

struct GtaQuery {
  std::string id;  // the dataset key
  std::string question;
  std::vector<GtaFile> files;
  std::vector<std::string> tools;  // the names listed in "tools"
  std::vector<GtaToolCall> reference_calls;
  std::string reference_answer;  // the last assistant turn's content ("" when it has none)
  GtaAnswerKind kind = GtaAnswerKind::kObjective;
  AliasGroups whitelist;                // kObjective: every group must match
  AliasGroups blacklist;                // kObjective: no alias may match (empty: none)
  std::vector<std::string> references;  // kSubjective
};

struct GtaDataset {
  std::filesystem::path dir;      // the folder of dataset.json: files are relative to it
  std::vector<GtaQuery> queries;  // in key order ("2" before "10")
  // Malformed entries, left out of `queries`. Scores over a dataset with problems are not
  // comparable with anyone's: the CLI refuses to score it.
  std::vector<EntryProblem> problems;
};

// Loads `path`: dataset.json itself or the folder that holds it. Throws core::Error when the file
// cannot be read or is not a JSON object; a malformed entry becomes a problem naming its key.
GtaDataset load_gta(const std::filesystem::path& path);

// The queries' files that are not on disk, one problem per query, naming the folder to unpack the
// benchmark's images into. Empty when every image is there.
std::vector<EntryProblem> missing_files(const GtaDataset& dataset);

}  // namespace mat::eval

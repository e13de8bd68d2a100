#include "mat/train/data_records.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "mat/core/error.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr const char* kRunRecord = "trajectory.json";

class Reader {
 public:
  explicit Reader(bool skip_bad) : skip_bad_(skip_bad) {}

  // One JSON value that should be a record.
  void add(const Json& json, const fs::path& file, const std::string& origin) {
    try {
      if (is_mat_conversation(json)) {
        out_.records.push_back({parse_mat_conversation(json), file.parent_path(), origin});
      } else if (json.is_object() && json.contains("steps")) {
        out_.records.push_back({agent::Trajectory::from_json(json), file.parent_path(), origin});
      } else {
        throw core::Error(
            "neither a trajectory record (id, task, steps, ...) nor a MAT conversation entry "
            "(conversations, image)");
      }
    } catch (const core::Error& e) {
      problem(origin, e.what());
    } catch (const Json::exception& e) {
      problem(origin, e.what());
    }
  }

  void problem(const std::string& origin, const std::string& message) {
    if (!skip_bad_) {
      throw core::Error(origin + ": " + message +
                        " (fix or remove the record, or pass --skip-bad-records to skip such "
                        "records with a report)");
    }
    out_.skipped.push_back({origin, message});
  }

  void read_jsonl(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw core::Error("cannot read the data file " + file.string());
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string origin = file.string() + ":" + std::to_string(number);
      std::optional<Json> json = core::parse_untrusted_json(line);
      if (!json) {
        problem(origin, "not a JSON value (each line must be one JSON object)");
        continue;
      }
      add(*json, file, origin);
    }
  }

  void read_json(const fs::path& file) {
    std::optional<Json> json = core::parse_untrusted_json(core::read_file(file));
    if (!json) {
      problem(file.string(), "not JSON (a trajectory record, or a list of MAT entries)");
      return;
    }
    if (!json->is_array()) {
      add(*json, file, file.string());
      return;
    }
    for (std::size_t i = 0; i < json->size(); ++i) {
      add((*json)[i], file, file.string() + "[" + std::to_string(i) + "]");
    }
  }

  void read_file(const fs::path& file) {
    if (file.extension() == ".jsonl") {
      read_jsonl(file);
    } else {
      read_json(file);
    }
  }

  DataRecords take() { return std::move(out_); }

 private:
  bool skip_bad_;
  DataRecords out_;
};

bool is_regular(const fs::path& path) {
  std::error_code error;
  return fs::symlink_status(path, error).type() == fs::file_type::regular;
}

// The data files below `dir`: run folders' records (not searched further) and JSONL files.
std::vector<fs::path> data_files(const fs::path& dir) {
  std::vector<fs::path> files;
  if (is_regular(dir / kRunRecord)) return {dir / kRunRecord};
  try {
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
      if (it->is_symlink()) continue;
      if (it->is_directory() && is_regular(it->path() / kRunRecord)) {
        files.push_back(it->path() / kRunRecord);
        it.disable_recursion_pending();
      } else if (it->is_regular_file() && it->path().extension() == ".jsonl") {
        files.push_back(it->path());
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw core::Error("cannot list the data files in " + dir.string() + ": " + e.code().message());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    throw core::Error(dir.string() + " holds no training data: expected run folders with " +
                      kRunRecord + " or .jsonl files of records below it");
  }
  return files;
}

}  // namespace

DataRecords read_data_records(const fs::path& path, bool skip_bad_records) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    throw core::Error("the training data " + path.string() +
                      " does not exist: pass a .jsonl or .json file of records, or a folder of "
                      "runs");
  }
  Reader reader(skip_bad_records);
  if (fs::is_directory(path, error)) {
    for (const fs::path& file : data_files(path)) reader.read_file(file);
  } else {
    reader.read_file(path);
  }
  return reader.take();
}

}  // namespace mat::train

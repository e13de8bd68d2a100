// Training conversations in the formats of distributed trainers, for users who outgrow one
// machine: the same turns (same system prompt, same memory) and the same targets (every
// assistant turn, nothing else) as `mat train` uses.
//
//   llamafactory  OUT/NAME.json: LLaMA-Factory's ShareGPT format with images, a list of
//                 {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...],
//                  "images": ["images/000000/0.png", ...]}, each image an "<image>" where the
//                 model sees it; OUT/dataset_info.json describes it (dataset NAME).
//   swift         OUT/NAME.jsonl: ms-swift's messages format, one {"messages": [...],
//                 "images": [...]} per line, "<image>" the same way, each assistant message with
//                 "loss": true (trained) or false (context).
//   images        OUT/images/<sample>/<k>.<ext>: the bytes the model was shown; paths are
//                 relative to OUT.
//
//   DatasetWriter writer(ExportFormat::kSwift, "export/");
//   writer.add(conversation);
//   std::vector<std::filesystem::path> files = writer.finish();
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/json.h"
#include "mat/train/conversation.h"

namespace mat::train {

enum class ExportFormat { kLlamaFactory, kSwift };

const std::vector<std::string>& export_format_names();  // "llamafactory", "swift"
// Throws core::Error naming the formats for an unknown name.
ExportFormat parse_export_format(std::string_view name);

class DatasetWriter {
 public:
  // Creates `out`; throws core::Error when it cannot. Files appear complete or not at all.
  DatasetWriter(ExportFormat format, std::filesystem::path out, std::string name = "mat");
  // Without finish(), the partial data file is removed.
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Writes one conversation and its images. Throws core::Error for a conversation the format
  // cannot express (LLaMA-Factory trains every assistant turn) or a file that cannot be written.
  void add(const Conversation& conversation);

  // Completes the data file (and dataset_info.json); returns the files written.
  std::vector<std::filesystem::path> finish();

  std::int64_t count() const { return count_; }

 private:
  core::Json record(const Conversation& conversation);
  std::string save_image(const core::EncodedImage& image, std::size_t index);

  ExportFormat format_;
  std::filesystem::path out_;
  std::string name_;
  std::filesystem::path data_file_;
  std::ofstream data_;
  std::int64_t count_ = 0;
  bool finished_ = false;
};

}  // namespace mat::train

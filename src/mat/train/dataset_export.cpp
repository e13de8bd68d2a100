#include "mat/train/dataset_export.h"

#include <cstdio>
#include <map>

#include "mat/core/base64.h"
#include "mat/core/error.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr std::string_view kImageTag = "<image>";

std::string extension_of(const std::string& mime_type) {
  static const std::map<std::string, std::string> extensions{
      {"image/png", "png"},   {"image/jpeg", "jpg"}, {"image/gif", "gif"},
      {"image/webp", "webp"}, {"image/bmp", "bmp"},  {"image/tiff", "tiff"}};
  auto it = extensions.find(mime_type);
  return it == extensions.end() ? "img" : it->second;
}

std::string sample_folder(std::int64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%06lld", static_cast<long long>(index));
  return name;
}

}  // namespace

const std::vector<std::string>& export_format_names() {
  static const std::vector<std::string> names{"llamafactory", "swift"};
  return names;
}

ExportFormat parse_export_format(std::string_view name) {
  if (name == "llamafactory") return ExportFormat::kLlamaFactory;
  if (name == "swift") return ExportFormat::kSwift;
  throw core::Error("unknown dataset format \"" + std::string(name) +
                    "\"; the formats are llamafactory (LLaMA-Factory) and swift (ms-swift)");
}

DatasetWriter::DatasetWriter(ExportFormat format, fs::path out, std::string name)
    : format_(format), out_(std::move(out)), name_(std::move(name)) {
  const bool plain = !name_.empty() && name_.front() != '.' &&
                     name_.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_.-") == std::string::npos;
  if (!plain) {
    throw core::Error("the data set name \"" + name_ +
                      "\" is not a plain file name: use letters, digits, '_', '.' and '-'");
  }
  std::error_code error;
  fs::create_directories(out_, error);
  if (error) throw core::Error("cannot create " + out_.string() + ": " + error.message());
  data_file_ = out_ / (name_ + (format_ == ExportFormat::kSwift ? ".jsonl" : ".json"));
  data_.open(data_file_.string() + ".part", std::ios::binary | std::ios::trunc);
  if (!data_) throw core::Error("cannot write " + data_file_.string() + ".part");
  if (format_ == ExportFormat::kLlamaFactory) data_ << "[";
}

DatasetWriter::~DatasetWriter() {
  if (finished_) return;
  data_.close();
  std::error_code error;
  fs::remove(data_file_.string() + ".part", error);
}

void DatasetWriter::add(const Conversation& conversation) {
  const Json line = record(conversation);
  if (format_ == ExportFormat::kLlamaFactory) {
    data_ << (count_ == 0 ? "\n" : ",\n") << line.dump();
  } else {
    data_ << line.dump() << "\n";
  }
  if (!data_) throw core::Error("cannot write " + data_file_.string() + ".part");
  ++count_;
}

Json DatasetWriter::record(const Conversation& conversation) {
  Json messages = Json::array();
  Json images = Json::array();
  std::map<const core::EncodedImage*, std::string> saved;  // an image shown twice is saved once
  for (const Turn& turn : conversation.turns) {
    const bool assistant = turn.message.role == llm::Role::kAssistant;
    if (format_ == ExportFormat::kLlamaFactory && assistant != turn.is_target) {
      throw core::Error("sample " + conversation.id + " (" + conversation.origin +
                        ") has an assistant turn that is not trained, which LLaMA-Factory's "
                        "format cannot say: export it with --format swift");
    }
    std::string content;
    for (const llm::ContentPart& part : turn.message.parts) {
      if (!part.is_image()) {
        content += part.text;
        continue;
      }
      auto it = saved.find(part.image.get());
      if (it == saved.end()) {
        it = saved.emplace(part.image.get(), save_image(*part.image, saved.size())).first;
      }
      content += kImageTag;
      images.push_back(it->second);
    }
    Json message = {{"role", llm::role_name(turn.message.role)}, {"content", content}};
    if (format_ == ExportFormat::kSwift && assistant) message["loss"] = turn.is_target;
    messages.push_back(std::move(message));
  }
  return {{"messages", std::move(messages)}, {"images", std::move(images)}};
}

std::string DatasetWriter::save_image(const core::EncodedImage& image, std::size_t index) {
  const fs::path relative = fs::path("images") / sample_folder(count_) /
                            (std::to_string(index) + "." + extension_of(image.mime_type));
  std::optional<std::string> bytes = core::base64_decode(image.base64);
  if (!bytes) throw core::Error("the image " + image.source.string() + " has no valid bytes");
  std::error_code error;
  fs::create_directories((out_ / relative).parent_path(), error);
  std::ofstream file(out_ / relative, std::ios::binary | std::ios::trunc);
  if (error || !file.write(bytes->data(), static_cast<std::streamsize>(bytes->size()))) {
    throw core::Error("cannot write the image " + (out_ / relative).string() + " (a copy of " +
                      image.source.string() + ")");
  }
  return relative.generic_string();
}

std::vector<fs::path> DatasetWriter::finish() {
  if (format_ == ExportFormat::kLlamaFactory) data_ << (count_ == 0 ? "]\n" : "\n]\n");
  data_.close();
  if (!data_) throw core::Error("cannot write " + data_file_.string() + ".part");
  fs::rename(data_file_.string() + ".part", data_file_);
  finished_ = true;
  std::vector<fs::path> written{data_file_};
  if (format_ == ExportFormat::kLlamaFactory) {
    const Json info = {{name_,
                        {{"file_name", data_file_.filename().string()},
                         {"formatting", "sharegpt"},
                         {"columns", {{"messages", "messages"}, {"images", "images"}}},
                         {"tags",
                          {{"role_tag", "role"},
                           {"content_tag", "content"},
                           {"user_tag", "user"},
                           {"assistant_tag", "assistant"},
                           {"system_tag", "system"}}}}}};
    core::write_json_file(out_ / "dataset_info.json", info);
    written.push_back(out_ / "dataset_info.json");
  }
  return written;
}

}  // namespace mat::train

#include "mat/synth/file_stages.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>

#include "mat/core/error.h"
#include "mat/core/image.h"
#include "mat/synth/file_checks.h"
#include "mat/synth/prompts.h"
#include "mat/synth/queries.h"
#include "mat/synth/teacher.h"
#include "mat/tools/documents.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr size_t kMaxFiles = 8;
constexpr size_t kMaxContentChars = 20'000;
constexpr size_t kShownChars = 6'000;  // of each document shown to the files verifier

bool needs_type(const QuerySpec& query, const std::string& type) {
  return std::find(query.files.begin(), query.files.end(), type) != query.files.end();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// "pdf (.pdf), image (.png, .jpg, ...)" for the types the query names.
std::string types_text(const QuerySpec& query) {
  std::string text;
  for (const std::string& type : query.files) {
    if (text.find(type + " (") != std::string::npos) continue;
    std::string extensions;
    for (const std::string& ext : extensions_of_type(type)) {
      extensions += (extensions.empty() ? "" : ", ") + ext;
    }
    text += (text.empty() ? "" : "; ") + type + " (" + extensions + ")";
  }
  return text;
}

StageResult failed(const std::string& version, const std::string& error) {
  StageResult result;
  result.status = status::kFailed;
  result.prompt_version = version;
  result.error = error;
  return result;
}

}  // namespace

fs::path task_files_dir(const fs::path& run_dir, std::int64_t id) {
  return task_dir(run_dir, id) / "files";
}

std::vector<PlannedFile> planned_files(const StageResult& result) {
  std::vector<PlannedFile> files;
  if (!result.output.is_object()) return files;
  for (const Json& file : result.output.value("files", Json::array())) {
    files.push_back({file.value("type", ""), file.value("name", ""), file.value("content", "")});
  }
  return files;
}

bool stage_applies(const std::string& name, const TaskRow& row, Store& store) {
  if (name == stage::kFileContents) return !row.spec.files.empty();
  if (name != stage::kFileCode && name != stage::kImages) return true;
  const std::optional<StageResult> contents = store.result(row.id, stage::kFileContents);
  if (!contents) return false;
  const std::vector<PlannedFile> files = planned_files(*contents);
  return std::any_of(files.begin(), files.end(), [&](const PlannedFile& file) {
    return (file.type == "image") == (name == stage::kImages);
  });
}

std::optional<std::string> check_file_contents(const Json& value, const QuerySpec& query) {
  if (!value.is_object()) return "the reply must be a JSON object with a \"files\" list";
  const auto list = value.find("files");
  if (list == value.end() || !list->is_array() || list->empty()) {
    return "\"files\" must be a non-empty list";
  }
  if (list->size() > kMaxFiles) return "give at most " + std::to_string(kMaxFiles) + " files";
  std::set<std::string> names;
  std::set<std::string> types;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& file = (*list)[i];
    const std::string at = "files[" + std::to_string(i) + "]";
    if (!file.is_object()) return at + " must be an object";
    for (const char* field : {"type", "name", "content"}) {
      const auto it = file.find(field);
      if (it == file.end() || !it->is_string() || it->get<std::string>().empty()) {
        return at + "." + field + " must be a non-empty string";
      }
    }
    const std::string type = file["type"];
    const auto& known = known_file_types();
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      return at + ".type \"" + type + "\" is not one of the file types";
    }
    if (auto problem = file_name_problem(file["name"], type)) return at + ": " + *problem;
    if (!names.insert(lower(file["name"])).second) {
      return at + ".name \"" + file["name"].get<std::string>() + "\" is used twice";
    }
    if (file["content"].get<std::string>().size() > kMaxContentChars) {
      return at + ".content is longer than " + std::to_string(kMaxContentChars) + " characters";
    }
    types.insert(type);
  }
  for (const std::string& type : query.files) {
    if (types.count(type) == 0) return "the query needs a " + type + " file, and none is given";
  }
  return std::nullopt;
}

StageResult run_file_contents(const FileStageContext& context, const TaskRow& row) {
  const StagePrompt prompt = builtin_prompt(context.config.file_contents_prompt);
  if (needs_type(row.spec, "image") && context.pool == nullptr) {
    return failed(prompt.version,
                  "the task needs an image and the run has no image pool (create the run with "
                  "`mat synth init --images POOL/` to make image tasks)");
  }
  const std::string text =
      fill(prompt.text, {{"query", row.spec.query}, {"file_types", types_text(row.spec)}});
  const QuerySpec& query = row.spec;
  const TeacherAnswer answer = ask_json(
      *context.models(stage::kFileContents), {llm::ChatMessage::text(llm::Role::kUser, text)}, {},
      [&query](const Json& value) { return check_file_contents(value, query); },
      context.config.max_parse_attempts,
      {&context.store, stage::kFileContents, row.id, std::nullopt});
  StageResult result = failed(prompt.version, answer.error);
  result.tokens_in = answer.tokens_in;
  result.tokens_out = answer.tokens_out;
  if (answer.value) {
    result.status = status::kDone;
    result.error.clear();
    result.output = {{"files", (*answer.value)["files"]}};
  }
  return result;
}

StageResult run_images(const FileStageContext& context, const TaskRow& row) {
  const std::string version = "images";
  if (context.pool == nullptr) {
    return failed(version, "the task needs an image and the run has no image pool");
  }
  if (context.embedder == nullptr) {
    return failed(version, "the run has an image pool but no embedder to search it with");
  }
  std::vector<PlannedFile> images;
  std::vector<std::string> descriptions;
  for (PlannedFile& file : planned_files(*context.store.result(row.id, stage::kFileContents))) {
    if (file.type != "image") continue;
    descriptions.push_back(file.content);
    images.push_back(std::move(file));
  }
  const std::vector<llm::Embedding> vectors = context.embedder->embed(descriptions);
  if (vectors.size() != images.size()) {
    throw core::Error("the embedder " + context.embedder->model_name() + " returned " +
                      std::to_string(vectors.size()) + " vectors for " +
                      std::to_string(images.size()) + " descriptions");
  }
  const fs::path folder = task_files_dir(context.run_dir, row.id);
  fs::create_directories(folder);
  Json chosen = Json::array();
  for (size_t i = 0; i < images.size(); ++i) {
    const ImagePool::Match match = context.pool->nearest(vectors[i]);
    // The teacher's name, with the pool image's own extension: the bytes decide the format.
    const std::string name =
        fs::path(images[i].name).stem().string() + lower(match.image.extension().string());
    write_task_file(folder / name, core::read_file(match.image));
    chosen.push_back({{"name", name},
                      {"description", images[i].content},
                      {"image", match.image},
                      {"caption", match.caption},
                      {"similarity", match.similarity}});
  }
  StageResult result;
  result.status = status::kDone;
  result.prompt_version = version;
  result.output = {{"images", chosen}};
  return result;
}

std::vector<llm::ContentPart> shown_files(const std::vector<fs::path>& files) {
  std::vector<llm::ContentPart> parts;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    try {
      if (core::has_image_extension(file)) {
        auto image = std::make_shared<core::EncodedImage>(core::encode_image(file, {}));
        parts.push_back(llm::ContentPart::from_text("\nFile " + name + ":\n"));
        parts.push_back(llm::ContentPart::from_image(std::move(image)));
        continue;
      }
      tools::DocumentLimits limits;
      limits.max_chars = kShownChars;
      parts.push_back(llm::ContentPart::from_text(
          "\nFile " + name + ":\n" +
          tools::document_to_markdown(core::read_file(file), name, limits).markdown + "\n"));
    } catch (const core::Error& e) {
      parts.push_back(
          llm::ContentPart::from_text("\nFile " + name + ": cannot be shown: " + e.what() + "\n"));
    }
  }
  return parts;
}

void write_task_file(const fs::path& path, const std::string& bytes) {
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw core::Error("cannot write " + partial.string());
  }
  std::error_code error;
  fs::rename(partial, path, error);
  if (error) throw core::Error("cannot write " + path.string() + ": " + error.message());
}

}  // namespace mat::synth

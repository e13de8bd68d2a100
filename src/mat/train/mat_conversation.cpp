#include "mat/train/mat_conversation.h"

#include <initializer_list>
#include <map>
#include <regex>

#include "mat/core/error.h"

namespace mat::train {
namespace {

using core::Json;

// "<image>" and MAT's numbered "<image_00>", "<image_01>", ...
const std::regex& placeholder_pattern() {
  static const std::regex pattern("<image(_[0-9]+)?>");
  return pattern;
}

std::string string_field(const Json& json, std::initializer_list<const char*> keys,
                         const std::string& what) {
  for (const char* key : keys) {
    if (!json.contains(key)) continue;
    if (!json[key].is_string()) throw core::Error(what + " '" + key + "' is not a string");
    return json[key].get<std::string>();
  }
  std::string names;
  for (const char* key : keys) names += std::string(names.empty() ? "" : " or ") + "'" + key + "'";
  throw core::Error(what + " has no " + names);
}

llm::Role role_of(const std::string& name) {
  if (name == "system") return llm::Role::kSystem;
  if (name == "user" || name == "human") return llm::Role::kUser;
  if (name == "assistant" || name == "gpt") return llm::Role::kAssistant;
  throw core::Error("unknown role '" + name + "' (expected system, user/human or assistant/gpt)");
}

// The image paths by placeholder, each placeholder's paths in the order they are taken.
std::map<std::string, std::vector<std::string>> images_by_placeholder(const Json& json) {
  std::map<std::string, std::vector<std::string>> images;
  if (json.contains("image")) {
    const Json& image = json["image"];
    if (image.is_string()) {
      if (!image.get<std::string>().empty()) images["<image>"].push_back(image.get<std::string>());
    } else if (image.is_object()) {
      for (const auto& [placeholder, path] : image.items()) {
        if (!path.is_string())
          throw core::Error("'image' entry '" + placeholder + "' is not a path");
        images[placeholder].push_back(path.get<std::string>());
      }
    } else if (!image.is_null()) {
      throw core::Error("'image' is neither a path nor an object of placeholder: path");
    }
  }
  if (json.contains("images")) {
    if (!json["images"].is_array()) throw core::Error("'images' is not a list of paths");
    for (const Json& path : json["images"]) {
      if (!path.is_string()) throw core::Error("'images' holds something that is not a path");
      images["<image>"].push_back(path.get<std::string>());
    }
  }
  return images;
}

// Splits `text` at its placeholders, each taking the next image of its name.
std::vector<MatPart> split_parts(const std::string& text,
                                 std::map<std::string, std::vector<std::string>>& images,
                                 std::map<std::string, std::size_t>& taken) {
  std::vector<MatPart> parts;
  std::size_t pos = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), placeholder_pattern());
       it != std::sregex_iterator(); ++it) {
    const std::string placeholder = it->str();
    std::size_t& next = taken[placeholder];
    if (next >= images[placeholder].size()) {
      throw core::Error("the text has more " + placeholder + " placeholders than the entry has " +
                        "images for it (" + std::to_string(images[placeholder].size()) + ")");
    }
    const auto at = static_cast<std::size_t>(it->position());
    if (at > pos) parts.push_back({text.substr(pos, at - pos), std::nullopt});
    parts.push_back({"", images[placeholder][next++]});
    pos = at + placeholder.size();
  }
  if (pos < text.size() || parts.empty()) parts.push_back({text.substr(pos), std::nullopt});
  return parts;
}

}  // namespace

bool is_mat_conversation(const Json& json) {
  return json.is_object() && json.contains("conversations");
}

MatConversation parse_mat_conversation(const Json& json) {
  if (!is_mat_conversation(json)) throw core::Error("not an object with 'conversations'");
  MatConversation entry;
  if (json.contains("id")) {
    entry.id = json["id"].is_string() ? json["id"].get<std::string>() : json["id"].dump();
  }
  const Json& turns = json["conversations"];
  if (!turns.is_array()) throw core::Error("'conversations' is not a list");

  auto images = images_by_placeholder(json);
  std::map<std::string, std::size_t> taken;
  for (const char* key : {"system-prompt", "system"}) {
    if (json.contains(key) && json[key].is_string()) {
      entry.messages.push_back({llm::Role::kSystem, {{json[key].get<std::string>(), {}}}});
      break;
    }
  }
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const std::string where = "conversations[" + std::to_string(i) + "]";
    if (!turns[i].is_object()) throw core::Error(where + " is not an object");
    const llm::Role role = role_of(string_field(turns[i], {"role", "from"}, where));
    const std::string text = string_field(turns[i], {"content", "value"}, where);
    if (role == llm::Role::kSystem) {
      if (i != 0) throw core::Error(where + ": a system turn may only come first");
      entry.messages.clear();  // the conversation's own system turn wins over "system-prompt"
      entry.messages.push_back({role, {{text, std::nullopt}}});
      continue;
    }
    const bool after_system =
        !entry.messages.empty() && entry.messages[0].role == llm::Role::kSystem;
    const std::size_t position = entry.messages.size() - (after_system ? 1 : 0);
    const llm::Role expected = position % 2 == 0 ? llm::Role::kUser : llm::Role::kAssistant;
    if (role != expected) {
      throw core::Error(where + " is a " + std::string(llm::role_name(role)) + " turn where a " +
                        std::string(llm::role_name(expected)) +
                        " turn belongs (turns alternate user, assistant after the system turn)");
    }
    entry.messages.push_back({role, split_parts(text, images, taken)});
  }
  for (const auto& [placeholder, paths] : images) {
    if (taken[placeholder] < paths.size()) {
      throw core::Error("the entry has " + std::to_string(paths.size()) + " image(s) for " +
                        placeholder + " but its text places " + std::to_string(taken[placeholder]));
    }
  }
  while (!entry.messages.empty() && entry.messages.back().role == llm::Role::kUser) {
    entry.messages.pop_back();
  }
  if (entry.messages.empty() || entry.messages.back().role != llm::Role::kAssistant) {
    throw core::Error("'conversations' has no assistant turn to learn");
  }
  return entry;
}

}  // namespace mat::train

#include "mat/eval/gta_dataset.h"

#include "mat/core/error.h"

namespace mat::eval {

namespace {

namespace fs = std::filesystem;
using core::Json;

// An entry's field failing validation: caught per entry and recorded as its problem.
class Malformed : public core::Error {
 public:
  using core::Error::Error;
};

const Json& field(const Json& object, const char* name, const std::string& where) {
  if (!object.is_object() || !object.contains(name)) {
    throw Malformed(where + " has no \"" + name + "\"");
  }
  return object[name];
}

std::string string_field(const Json& object, const char* name, const std::string& where) {
  const Json& value = field(object, name, where);
  if (!value.is_string()) throw Malformed(where + "." + name + " is not a string");
  return value.get<std::string>();
}

std::vector<std::string> strings(const Json& list, const std::string& where) {
  if (!list.is_array() || list.empty()) throw Malformed(where + " is not a non-empty list");
  std::vector<std::string> out;
  for (const Json& item : list) {
    if (!item.is_string()) throw Malformed(where + " holds " + item.dump() + ", not a string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

AliasGroups alias_groups(const Json& list, const std::string& where) {
  if (!list.is_array() || list.empty()) throw Malformed(where + " is not a non-empty list");
  AliasGroups groups;
  for (size_t i = 0; i < list.size(); ++i) {
    groups.push_back(strings(list[i], where + "[" + std::to_string(i) + "]"));
  }
  return groups;
}

void read_answer(const Json& answer, GtaQuery& query) {
  if (answer.is_null()) {
    query.kind = GtaAnswerKind::kImageGeneration;
  } else if (answer.is_array()) {
    query.kind = GtaAnswerKind::kSubjective;
    query.references = strings(answer, "gt_answer");
  } else if (answer.is_object()) {
    query.kind = GtaAnswerKind::kObjective;
    query.whitelist = alias_groups(field(answer, "whitelist", "gt_answer"), "gt_answer.whitelist");
    // The official scorer treats an empty blacklist like null: nothing is excluded.
    const Json& blacklist = field(answer, "blacklist", "gt_answer");
    if (!blacklist.is_null() && !blacklist.empty()) {
      query.blacklist = alias_groups(blacklist, "gt_answer.blacklist");
    }
  } else {
    throw Malformed("gt_answer is " + answer.dump() +
                    ": expected null, a list of reference answers or {whitelist, blacklist}");
  }
}

void read_dialogs(const Json& dialogs, GtaQuery& query) {
  if (!dialogs.is_array() || dialogs.empty()) throw Malformed("dialogs is not a non-empty list");
  if (dialogs[0].value("role", "") != "user") throw Malformed("dialogs[0] is not a user turn");
  query.question = string_field(dialogs[0], "content", "dialogs[0]");
  for (size_t i = 1; i < dialogs.size(); ++i) {
    const Json& turn = dialogs[i];
    const std::string where = "dialogs[" + std::to_string(i) + "]";
    if (!turn.is_object()) throw Malformed(where + " is not an object");
    if (turn.value("role", "") != "assistant") continue;
    if (turn.contains("tool_calls") && turn["tool_calls"].is_array() &&
        !turn["tool_calls"].empty()) {
      const Json& function = field(turn["tool_calls"][0], "function", where + ".tool_calls[0]");
      query.reference_calls.push_back(
          {string_field(function, "name", where + ".tool_calls[0].function"),
           function.value("arguments", Json::object())});
    }
    // The final answer is the content of the last assistant turn; earlier ones may carry text too.
    const Json content = turn.value("content", Json());
    query.reference_answer = content.is_string() ? content.get<std::string>() : "";
  }
}

GtaQuery read_query(const std::string& id, const Json& entry) {
  if (!entry.is_object()) throw Malformed("the entry is not an object");
  GtaQuery query;
  query.id = id;
  const Json& files = field(entry, "files", "the entry");
  if (!files.is_array()) throw Malformed("files is not a list");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string path = string_field(files[i], "path", "files[" + std::to_string(i) + "]");
    query.files.push_back({files[i].value("type", "image"), path});
  }
  const Json& tools = field(entry, "tools", "the entry");
  if (!tools.is_array()) throw Malformed("tools is not a list");
  for (size_t i = 0; i < tools.size(); ++i) {
    query.tools.push_back(string_field(tools[i], "name", "tools[" + std::to_string(i) + "]"));
  }
  read_dialogs(field(entry, "dialogs", "the entry"), query);
  read_answer(field(entry, "gt_answer", "the entry"), query);
  return query;
}

}  // namespace

const char* to_string(GtaAnswerKind kind) {
  switch (kind) {
    case GtaAnswerKind::kObjective:
      return "objective";
    case GtaAnswerKind::kSubjective:
      return "subjective";
    case GtaAnswerKind::kImageGeneration:
      return "image_generation";
  }
  return "unknown";
}

GtaDataset load_gta(const fs::path& path) {
  const fs::path file = fs::is_directory(path) ? path / "dataset.json" : path;
  const Json root = core::read_json_file(file);
  if (!root.is_object()) {
    throw core::Error(file.string() +
                      " is not a GTA dataset: expected an object keyed by query id (\"0\".. "
                      "\"228\"), as in the benchmark's dataset.json");
  }
  GtaDataset dataset;
  dataset.dir = file.parent_path();
  for (const auto& [id, entry] : root.items()) {
    try {
      dataset.queries.push_back(read_query(id, entry));
    } catch (const Malformed& error) {
      dataset.problems.push_back({id, error.what()});
    } catch (const Json::exception& error) {  // a field of the wrong type where a default applies
      dataset.problems.push_back({id, error.what()});
    }
  }
  return dataset;
}

std::vector<EntryProblem> missing_files(const GtaDataset& dataset) {
  std::vector<EntryProblem> problems;
  for (const GtaQuery& query : dataset.queries) {
    std::string missing;
    for (const GtaFile& file : query.files) {
      if (fs::exists(dataset.dir / file.path)) continue;
      missing += (missing.empty() ? "" : ", ") + file.path;
    }
    if (missing.empty()) continue;
    problems.push_back({query.id, missing + " not found in " + dataset.dir.string() +
                                      ": unpack the GTA release archive's image/ folder there"});
  }
  return problems;
}

}  // namespace mat::eval

#include "mat/teacher/gta_tasks.h"

#include <set>

#include "mat/core/error.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/task_files.h"

namespace mat::teacher {
namespace {

using core::Json;
namespace fs = std::filesystem;

constexpr int kMaxDrawsPerTask = 50;  // before giving up on finding distinct tasks

}  // namespace

Json gta_entry(const Task& task, const std::string& files_dir) {
  Json tools = Json::array();
  std::set<std::string> listed;
  Json dialogs = Json::array({{{"role", "user"}, {"content", task.query}}});
  for (const ReferenceCall& call : task.reference_calls) {
    if (listed.insert(call.tool).second) {
      tools.push_back({{"name", call.tool},
                       {"description", ""},
                       {"inputs", Json::array()},
                       {"outputs", Json::array()}});
    }
    dialogs.push_back(
        {{"role", "assistant"},
         {"tool_calls",
          Json::array({{{"type", "function"},
                        {"function", {{"name", call.tool}, {"arguments", call.arguments}}}}})}});
    dialogs.push_back(
        {{"role", "tool"}, {"name", call.tool}, {"content", {{"type", "text"}, {"content", ""}}}});
  }
  dialogs.push_back({{"role", "assistant"}, {"content", task.answer}});
  Json files = Json::array();
  for (const TaskFile& file : task.files) {
    files.push_back({{"type", file.type}, {"path", files_dir + "/" + file.name}});
  }
  Json aliases = Json::array({task.answer});
  for (const std::string& alias : task.aliases) aliases.push_back(alias);
  return {{"tools", tools},
          {"files", files},
          {"dialogs", dialogs},
          {"gt_answer", {{"whitelist", Json::array({aliases})}, {"blacklist", nullptr}}}};
}

std::vector<Task> write_gta_tasks(const fs::path& out, std::uint64_t seed, int count,
                                  Phrasings phrasings) {
  Rng rng(hash_of(seed, {"evaluation tasks"}));
  std::vector<Task> tasks;
  std::set<std::string> queries;
  for (int draws = 0; static_cast<int>(tasks.size()) < count; ++draws) {
    if (draws > count * kMaxDrawsPerTask) {
      throw core::Error("cannot draw " + std::to_string(count) + " distinct tasks; ask for fewer");
    }
    Task task = draw_task(seed, rng, phrasings);
    if (queries.insert(task.query).second) tasks.push_back(std::move(task));
  }
  TaskFileWriter writer;
  Json dataset = Json::object();
  for (size_t i = 0; i < tasks.size(); ++i) {
    writer.write(tasks[i], out / "files");
    dataset[std::to_string(i)] = gta_entry(tasks[i], "files");
  }
  core::write_json_file(out / "dataset.json", dataset);
  return tasks;
}

}  // namespace mat::teacher

#include "mat/eval/eval_task.h"

#include <map>
#include <set>

#include "mat/core/error.h"

namespace mat::eval {

namespace {

using core::Json;

Json alias_json(const AliasGroups& groups) {
  Json json = Json::array();
  for (const std::vector<std::string>& group : groups) json.push_back(group);
  return json;
}

Json gta_ground_truth(const GtaQuery& query) {
  switch (query.kind) {
    case GtaAnswerKind::kObjective:
      return {{"whitelist", alias_json(query.whitelist)},
              {"blacklist", query.blacklist.empty() ? Json() : alias_json(query.blacklist)}};
    case GtaAnswerKind::kSubjective:
      return query.references;
    case GtaAnswerKind::kImageGeneration:
      break;
  }
  return Json();
}

std::map<std::string, std::string> by_id(const std::vector<EntryProblem>& problems) {
  std::map<std::string, std::string> out;
  for (const EntryProblem& problem : problems) out[problem.entry] = problem.message;
  return out;
}

}  // namespace

std::vector<EvalTask> gta_tasks(const GtaDataset& dataset) {
  const std::map<std::string, std::string> missing = by_id(missing_files(dataset));
  std::vector<EvalTask> tasks;
  for (const GtaQuery& query : dataset.queries) {
    EvalTask task;
    task.id = query.id;
    task.text = query.question;
    task.ground_truth = gta_ground_truth(query);
    for (const GtaFile& file : query.files) task.files.push_back(dataset.dir / file.path);
    if (const auto found = missing.find(query.id); found != missing.end()) {
      task.missing = found->second;
    }
    tasks.push_back(std::move(task));
  }
  return tasks;
}

std::vector<EvalTask> gaia_tasks(const GaiaDataset& dataset) {
  const std::map<std::string, std::string> missing = by_id(missing_files(dataset));
  std::vector<EvalTask> tasks;
  for (const GaiaTask& gaia : dataset.tasks) {
    EvalTask task;
    task.id = gaia.id;
    task.text = gaia.question;
    task.ground_truth = gaia.final_answer;
    if (!gaia.file_name.empty()) task.files.push_back(dataset.dir / gaia.file_name);
    if (const auto found = missing.find(gaia.id); found != missing.end()) {
      task.missing = found->second;
    }
    tasks.push_back(std::move(task));
  }
  return tasks;
}

std::vector<EvalTask> select_tasks(const std::vector<EvalTask>& tasks,
                                   const std::vector<std::string>& ids,
                                   std::optional<std::size_t> limit) {
  std::set<std::string> unknown(ids.begin(), ids.end());
  for (const EvalTask& task : tasks) unknown.erase(task.id);
  if (!unknown.empty()) {
    std::string list;
    for (const std::string& id : unknown) list += (list.empty() ? "" : ", ") + id;
    throw core::Error("--ids names task(s) the benchmark does not have: " + list +
                      " (GTA ids are the dataset's keys \"0\".. \"228\", GAIA ids its task_id)");
  }
  const std::set<std::string> wanted(ids.begin(), ids.end());
  std::vector<EvalTask> selected;
  for (const EvalTask& task : tasks) {
    if (limit && selected.size() >= *limit) break;
    if (wanted.empty() || wanted.contains(task.id)) selected.push_back(task);
  }
  return selected;
}

}  // namespace mat::eval

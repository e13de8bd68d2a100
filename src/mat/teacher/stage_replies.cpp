#include "mat/teacher/stage_replies.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "mat/teacher/next_step.h"
#include "mat/teacher/task_family.h"
#include "mat/teacher/verdicts.h"

namespace mat::teacher {
namespace {

using core::Json;

constexpr int kDefaultQueryCount = 5;
constexpr int kMaxQueryCount = 100;

// The text between `from` and `to` in `text` (to the end when `to` is absent), or "".
std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const auto start = text.find(from);
  if (start == std::string::npos) return {};
  const auto begin = start + from.size();
  const auto end = text.find(to, begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string joined_text(const std::vector<TextMessage>& messages) {
  std::string text;
  for (const TextMessage& message : messages) text += message.text + "\n";
  return text;
}

std::string verdict_json(const Verdict& verdict, bool with_update) {
  Json reply = {{"verdict", verdict.yes ? "yes" : "no"}, {"reason", verdict.reason}};
  if (with_update) reply["updated_query"] = nullptr;
  return reply.dump();
}

std::optional<double> number(std::string text) {
  while (!text.empty() && (text.front() == '$' || text.front() == ' ')) text.erase(0, 1);
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string normalised(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n\"'");
  const auto last = text.find_last_not_of(" \t\r\n\"'");
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

double share(std::uint64_t seed, const char* what, const std::string& query) {
  return Rng(hash_of(seed, {what, query})).unit();
}

}  // namespace

bool answer_matches(const std::string& given, const Task& task) {
  const std::string answer = normalised(given);
  std::vector<std::string> accepted = task.aliases;
  accepted.push_back(task.answer);
  for (const std::string& expected : accepted) {
    const auto a = number(answer);
    const auto b = number(normalised(expected));
    if (a && b ? std::fabs(*a - *b) < 1e-6 : answer == normalised(expected)) return true;
  }
  return false;
}

bool ProceduralTeacher::gets_bad_files(const Task& task) const {
  return share(options_.seed, "bad-file", task.query) < options_.bad_file_rate;
}

bool ProceduralTeacher::gets_wrong_answer(const Task& task) const {
  return share(options_.seed, "wrong-answer", task.query) < options_.wrong_answer_rate;
}

std::string ProceduralTeacher::reply(const std::string& stage,
                                     const std::vector<TextMessage>& messages,
                                     std::optional<std::int64_t> request_seed) const {
  if (messages.empty()) throw BadRequest("the request has no messages");
  const std::string text = joined_text(messages);
  if (stage == "queries") return queries(messages, request_seed);
  if (stage == "file_contents") return file_contents(text);
  if (stage == "file_code") return file_code(text);
  if (stage == "verify_files") return verify_files(text);
  if (stage == "trajectory") return trajectory(messages);
  if (stage == "verify_trajectory") return verify_trajectory(text);
  throw BadRequest(stage.empty()
                       ? "the request has no X-Mat-Stage header: the offline teacher answers only "
                         "`mat synth`'s stages (queries, file_contents, file_code, verify_files, "
                         "trajectory, verify_trajectory)"
                       : "unknown stage \"" + stage +
                             "\" in X-Mat-Stage; the teacher answers queries, file_contents, "
                             "file_code, verify_files, trajectory and verify_trajectory");
}

Task ProceduralTeacher::task_in(const std::string& text, const std::string& stage) const {
  std::optional<Task> task = find_task(text, options_.seed);
  if (!task) {
    throw BadRequest("the " + stage +
                     " request quotes no file name of the teacher's tasks (such as "
                     "receipt_0042.png): ask only about queries this teacher wrote, with the "
                     "same --seed");
  }
  return std::move(*task);
}

std::string ProceduralTeacher::queries(const std::vector<TextMessage>& messages,
                                       std::optional<std::int64_t> request_seed) const {
  const std::string text = joined_text(messages);
  static const std::regex count_pattern("Write ([0-9]+) new user quer");
  std::smatch match;
  int count = kDefaultQueryCount;
  if (std::regex_search(text, match, count_pattern)) {
    count = std::clamp(std::stoi(match[1].str().substr(0, 4)), 1, kMaxQueryCount);
  }
  // A batch's seed (or, without one, its text, whose examples differ per batch) picks its tasks.
  Rng rng(request_seed ? hash_of(options_.seed, {"batch", std::to_string(*request_seed)})
                       : hash_of(options_.seed, {"batch", text}));
  Json list = Json::array();
  for (int i = 0; i < count; ++i) {
    const Task task = draw_task(options_.seed, rng, options_.phrasings);
    Json types = Json::array();
    for (const TaskFile& file : task.files) types.push_back(file.type);
    list.push_back({{"query", task.query}, {"tools", task.tools}, {"files", types}});
  }
  return Json{{"queries", list}}.dump();
}

std::string ProceduralTeacher::file_contents(const std::string& text) const {
  const Task task = task_in(between(text, "The user's query:\n", "\n\n"), "file_contents");
  Json files = Json::array();
  for (const TaskFile& file : task.files) {
    files.push_back({{"type", file.type}, {"name", file.name}, {"content", file.content}});
  }
  return Json{{"files", files}}.dump();
}

std::string ProceduralTeacher::file_code(const std::string& text) const {
  const std::string name = between(text, "under exactly this name: ", "\n");
  const Task task = task_in(between(text, "The task's query, for context:\n", "\n\n"), "file_code");
  for (const TaskFile& file : task.files) {
    if (file.name != name || file.code.empty()) continue;
    return "```py\n" + (gets_bad_files(task) ? file.bad_code : file.code) + "```";
  }
  throw BadRequest("the file_code request asks for \"" + name +
                   "\", which is not a document of "
                   "the task \"" +
                   task.query + "\"");
}

std::string ProceduralTeacher::verify_files(const std::string& text) const {
  const Task task = task_in(between(text, "The user's query:\n", "\n\n"), "verify_files");
  return verdict_json(judge_files(task, text), true);
}

std::string ProceduralTeacher::trajectory(const std::vector<TextMessage>& messages) const {
  const auto task_message = std::find_if(messages.begin(), messages.end(),
                                         [](const auto& m) { return m.role == "user"; });
  if (task_message == messages.end()) throw BadRequest("the trajectory request has no task");
  const Task task =
      task_in(between(task_message->text, "Task: ", "\n\nAttached files"), "trajectory");
  return agent::render_step(next_step(task, messages, gets_wrong_answer(task)));
}

std::string ProceduralTeacher::verify_trajectory(const std::string& text) const {
  const Task task =
      task_in(between(text, "The task:\n", "\n\nThe files it had:"), "verify_trajectory");
  const std::string steps = between(text, "Its steps:\n", "\nIts final answer:\n");
  std::string answer = between(text, "Its final answer:\n", "\n\nJudge the solution");
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) {
    answer.pop_back();
  }
  return verdict_json(judge_trajectory(task, steps, answer), false);
}

}  // namespace mat::teacher

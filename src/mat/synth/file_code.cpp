#include "mat/synth/file_code.h"

#include <chrono>

#include "mat/core/confined_dir.h"
#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/sandbox/sandbox.h"
#include "mat/synth/file_checks.h"
#include "mat/synth/prompts.h"
#include "mat/synth/teacher.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr size_t kMaxFileBytes = 64 << 20;
constexpr size_t kMaxOutputChars = 2000;  // of a script's printed output, kept in the result

std::string clipped(const std::string& text) {
  return text.size() <= kMaxOutputChars ? text : text.substr(0, kMaxOutputChars) + " [...]";
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const std::string& value : values) text += (text.empty() ? "" : ", ") + value;
  return text;
}

// Asks for the script of one file; the reply is asked again, with the problem shown, while it
// does not hold exactly one code block. Every call is logged in the store.
struct Script {
  std::optional<std::string> code;
  std::string error;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

Script ask_script(const FileStageContext& context, const TaskRow& row, const std::string& text) {
  const std::shared_ptr<llm::ChatModel> teacher = context.models(stage::kFileCode);
  const auto model =
      recording_model(*teacher, {&context.store, stage::kFileCode, row.id, std::nullopt});
  std::vector<llm::ChatMessage> messages{llm::ChatMessage::text(llm::Role::kUser, text)};
  Script script;
  for (int attempt = 1; attempt <= std::max(1, context.config.max_parse_attempts); ++attempt) {
    llm::ChatResult reply;
    try {
      reply = model->chat(messages, {}, {});
    } catch (const llm::ModelError& error) {
      if (error.retryable()) throw;  // the teacher is down: the unit is left for later
      script.error = std::string("the teacher failed: ") + error.what();
      return script;
    }
    script.tokens_in += reply.usage.prompt_tokens;
    script.tokens_out += reply.usage.completion_tokens;
    ExtractedCode extracted = extract_code(reply.text);
    if (extracted.code) {
      script.code = std::move(extracted.code);
      return script;
    }
    script.error = "no usable script after " + std::to_string(attempt) +
                   " attempt(s); last problem: " + extracted.error;
    messages.push_back(llm::ChatMessage::text(llm::Role::kAssistant, reply.text));
    messages.push_back(llm::ChatMessage::text(
        llm::Role::kUser,
        "Your reply could not be used: " + extracted.error +
            ". Reply again with exactly one ```py code block, and nothing else."));
  }
  return script;
}

// Why running `script` in `box` did not make `file` in `work_dir`, or "" when it did (the bytes
// are then in `bytes`).
std::string run_script(sandbox::Sandbox& box, const core::ConfinedDir& work_dir,
                       const PlannedFile& file, const std::string& code, Json& record,
                       std::string& bytes) {
  const sandbox::ExecResult run = box.execute(code);
  record["output"] = clipped(run.output);
  if (run.interrupted) throw core::Interrupted();
  const std::string script = "the script for " + file.name;
  if (run.timed_out) {
    return script + " ran past the limit of " +
           std::to_string(box.options().limits.step_wall.count() / 1000) + " s and was stopped";
  }
  if (run.error) return script + " failed: " + clipped(*run.error);
  try {
    bytes = work_dir.read_regular(file.name, kMaxFileBytes);
  } catch (const core::Error& e) {
    return script + " did not leave a regular file named " + file.name +
           " in its folder: " + e.what();
  }
  if (auto problem = file_type_problem(bytes, file.name, file.type)) {
    return file.name + " is not a valid " + file.type + " file: " + *problem;
  }
  return "";
}

}  // namespace

ExtractedCode extract_code(std::string_view reply) {
  size_t open = std::string_view::npos;
  for (const std::string_view tag : {"```python", "```py"}) {
    open = reply.find(tag);
    if (open == std::string_view::npos) continue;
    const size_t line_end = reply.find('\n', open);
    if (line_end == std::string_view::npos) break;
    const std::string_view rest_of_line =
        reply.substr(open + tag.size(), line_end - open - tag.size());
    if (rest_of_line.find_first_not_of(" \t\r") != std::string_view::npos) continue;
    const size_t close = reply.find("```", line_end);
    if (close == std::string_view::npos) return {std::nullopt, "the ```py block is never closed"};
    if (reply.find("```", close + 3) != std::string_view::npos) {
      return {std::nullopt, "the reply holds more than one ``` block; send exactly one"};
    }
    std::string code(reply.substr(line_end + 1, close - line_end - 1));
    if (code.find_first_not_of(" \t\r\n") == std::string::npos) {
      return {std::nullopt, "the ```py block is empty"};
    }
    return {std::move(code), ""};
  }
  return {std::nullopt, "the reply holds no ```py code block"};
}

StageResult run_file_code(const FileStageContext& context, const TaskRow& row) {
  const StagePrompt prompt = builtin_prompt(context.config.file_code_prompt);
  StageResult result;
  result.prompt_version = prompt.version;
  const fs::path work = task_dir(context.run_dir, row.id) / "make";
  if (fs::exists(work)) sandbox::reclaim_work_dir(work);  // a run killed mid-script left it
  fs::remove_all(work);
  fs::create_directories(work);
  const fs::path files = task_files_dir(context.run_dir, row.id);
  fs::create_directories(files);

  sandbox::Options options;
  options.work_dir = work;
  options.limits.step_wall = std::chrono::seconds(context.config.file_code_timeout_s);
  sandbox::Sandbox box(options, {});
  const core::ConfinedDir work_dir(work);
  const std::string modules = joined(sandbox::default_allowed_imports());

  Json made = Json::array();
  for (const PlannedFile& file :
       planned_files(*context.store.result(row.id, stage::kFileContents))) {
    if (file.type == "image") continue;
    const std::string text =
        fill(prompt.text, {{"query", row.spec.query},
                           {"name", file.name},
                           {"type", file.type},
                           {"content", file.content},
                           {"timeout", std::to_string(context.config.file_code_timeout_s)},
                           {"modules", modules}});
    const Script script = ask_script(context, row, text);
    result.tokens_in += script.tokens_in;
    result.tokens_out += script.tokens_out;
    Json record = {{"name", file.name}, {"type", file.type}};
    if (!script.code) {
      result.status = status::kFailed;
      result.error = "file_code for " + file.name + ": " + script.error;
      break;
    }
    record["code"] = *script.code;
    std::string bytes;
    const std::string problem = run_script(box, work_dir, file, *script.code, record, bytes);
    made.push_back(record);
    if (!problem.empty()) {
      result.status = status::kFailed;
      result.error = problem;
      break;
    }
    write_task_file(files / file.name, bytes);
  }
  if (result.status.empty()) result.status = status::kDone;
  result.output = {{"files", made}};
  return result;
}

}  // namespace mat::synth

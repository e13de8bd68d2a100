#include "mat/agent/memory.h"

#include "mat/agent/parser.h"
#include "mat/agent/staging.h"

namespace mat::agent {
namespace {

constexpr std::string_view kRetryAdvice =
    "Read the error, fix the cause and try again. If the same approach keeps failing, try a "
    "different one.";

void append_images(llm::ChatMessage& message, const std::vector<std::string>& paths,
                   const std::filesystem::path& run_dir, core::ImageCache& images) {
  for (const std::string& path : paths) {
    const std::filesystem::path p(path);
    message.parts.push_back(
        llm::ContentPart::from_image(images.get(p.is_absolute() ? p : run_dir / p)));
  }
}

}  // namespace

std::string task_text(const std::string& task, const std::vector<FileRef>& files) {
  std::string text = "Task: " + task;
  if (!files.empty()) {
    text += std::string("\n\nAttached files (in your working directory, and in the list `") +
            kAttachedFilesVariable + "`):";
    for (const FileRef& file : files) text += "\n- " + file.path;
  }
  return text;
}

std::string assistant_text(const Step& step) {
  if (step.code.empty()) return step.raw;
  return render_step({step.thought, step.code});
}

std::string observation_text(const Step& step) {
  const std::string header = "[OUTPUT OF STEP " + std::to_string(step.index) + "] ";
  if (!step.error) return header + "Observation:\n" + step.observation.value_or("");
  std::string text = header + "Error: " + *step.error + "\n";
  if (step.observation && !step.observation->empty()) {
    text += "Output printed before the error:\n" + *step.observation + "\n";
  }
  return text + std::string(kRetryAdvice);
}

std::vector<llm::ChatMessage> render_messages(const std::string& system_prompt,
                                              const Trajectory& trajectory,
                                              const std::filesystem::path& run_dir,
                                              core::ImageCache& images) {
  std::vector<llm::ChatMessage> messages;
  messages.push_back(llm::ChatMessage::text(llm::Role::kSystem, system_prompt));

  llm::ChatMessage task =
      llm::ChatMessage::text(llm::Role::kUser, task_text(trajectory.task, trajectory.files));
  std::vector<std::string> attached_images;
  for (const FileRef& file : trajectory.files) {
    if (file.type == "image") attached_images.push_back(shown_task_image(file));
  }
  append_images(task, attached_images, run_dir, images);
  messages.push_back(std::move(task));

  for (const Step& step : trajectory.steps) {
    messages.push_back(llm::ChatMessage::text(llm::Role::kAssistant, assistant_text(step)));
    llm::ChatMessage observation = llm::ChatMessage::text(llm::Role::kUser, observation_text(step));
    append_images(observation, step.images, run_dir, images);
    messages.push_back(std::move(observation));
  }
  return messages;
}

}  // namespace mat::agent

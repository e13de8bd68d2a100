// What the model sees at each step, rendered from the trajectory record by one function used by
// the agent, the trainer and the evaluator alike:
//   system prompt
//   user:      "Task: <text>" (+ attached file paths, also given to the code as
//              `attached_files`; attached images as image parts)
//   per step:  assistant: thought + code      user: "[OUTPUT OF STEP k] Observation: ..." or
//                                                   "[OUTPUT OF STEP k] Error: ..." (+ images)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/agent/trajectory.h"
#include "mat/core/image_cache.h"
#include "mat/llm/chat_model.h"

namespace mat::agent {

// The Python list the model's code finds the attached files' paths in, in the order the task
// lists them: code can name a file without copying its path character by character.
inline constexpr const char* kAttachedFilesVariable = "attached_files";
// The string the code finds the task's text in (the system prompts say so): code can take a name
// or a number from the task by parsing it, rather than by copying it token by token.
inline constexpr const char* kTaskVariable = "task";

std::string task_text(const std::string& task, const std::vector<FileRef>& files);
// The assistant turn of a step: the canonical thought+code form, or the raw reply when it could
// not be parsed (so the model sees what it actually wrote next to the parse error).
std::string assistant_text(const Step& step);
// The user turn that follows a step.
std::string observation_text(const Step& step);

// Renders the memory. Images (the host's copies of attached images, see shown_task_image(), and
// the images of each step) are read from under `run_dir` and encoded through `images`, once per
// run; never from the sandbox's working directory, which the model's code can change.
std::vector<llm::ChatMessage> render_messages(const std::string& system_prompt,
                                              const Trajectory& trajectory,
                                              const std::filesystem::path& run_dir,
                                              core::ImageCache& images);

}  // namespace mat::agent

#include "mat/train/conversation.h"

#include <algorithm>

#include "mat/agent/memory.h"
#include "mat/agent/staging.h"
#include "mat/core/error.h"
#include "mat/core/image_cache.h"

namespace mat::train {
namespace {

namespace fs = std::filesystem;

// Every image path the record's memory shows, relative ones as written.
std::vector<std::string> shown_images(const agent::Trajectory& record) {
  std::vector<std::string> paths;
  for (const agent::FileRef& file : record.files) {
    if (file.type == "image") paths.push_back(agent::shown_task_image(file));
  }
  for (const agent::Step& step : record.steps) {
    paths.insert(paths.end(), step.images.begin(), step.images.end());
  }
  return paths;
}

// The folder the record's relative image paths are read under: the record's own folder, unless
// an image is only found under the run_dir the record names (a record read where it was made).
fs::path image_dir(const agent::Trajectory& record, const fs::path& record_dir) {
  const std::vector<std::string> paths = shown_images(record);
  auto all_under = [&](const fs::path& dir) {
    return std::all_of(paths.begin(), paths.end(), [&](const std::string& path) {
      std::error_code error;
      return fs::path(path).is_absolute() || fs::exists(dir / path, error);
    });
  };
  if (!record.run_dir.empty() && !all_under(record_dir) && all_under(record.run_dir)) {
    return record.run_dir;
  }
  return record_dir;
}

// The steps the conversation shows: failed replies always left out, error steps when asked,
// and the rest numbered again so that the memory reads as one run.
std::vector<agent::Step> kept_steps(const agent::Trajectory& record,
                                    const ConversationOptions& options, Conversation& out) {
  std::vector<agent::Step> steps;
  for (const agent::Step& step : record.steps) {
    if (is_failed_reply(step)) {
      ++out.dropped_failed_replies;
    } else if (options.drop_error_steps && step.error) {
      ++out.dropped_error_steps;
    } else {
      steps.push_back(step);
      steps.back().index = static_cast<int>(steps.size()) - 1;
    }
  }
  return steps;
}

// Turns of `messages` with every assistant turn a target, ending with the last assistant turn.
std::vector<Turn> target_turns(std::vector<llm::ChatMessage> messages) {
  while (!messages.empty() && messages.back().role != llm::Role::kAssistant) messages.pop_back();
  std::vector<Turn> turns;
  for (llm::ChatMessage& message : messages) {
    const bool assistant = message.role == llm::Role::kAssistant;
    turns.push_back({std::move(message), assistant});
  }
  return turns;
}

}  // namespace

bool is_failed_reply(const agent::Step& step) {
  return step.finish_reason == "error";
}

Conversation conversation_from_trajectory(const agent::Trajectory& record,
                                          const fs::path& record_dir, const std::string& origin,
                                          const ConversationOptions& options,
                                          SystemPrompts& prompts) {
  Conversation out;
  out.id = record.id;
  out.origin = origin;
  agent::Trajectory shown = record;
  shown.steps = kept_steps(record, options, out);
  const std::string& system_prompt = prompts.of(record);
  core::ImageCache images(options.image_limits);  // per record: a dataset's images never pile up
  try {
    out.turns = target_turns(
        agent::render_messages(system_prompt, shown, image_dir(record, record_dir), images));
  } catch (const core::Error& e) {
    throw core::Error("trajectory " + record.id + " (" + origin + "): " + e.what());
  }
  return out;
}

Conversation conversation_from_mat(const MatConversation& entry, const fs::path& base_dir,
                                   const std::string& origin, const ConversationOptions& options) {
  Conversation out;
  out.id = entry.id;
  out.origin = origin;
  core::ImageCache images(options.image_limits);
  std::vector<llm::ChatMessage> messages;
  for (const MatMessage& message : entry.messages) {
    llm::ChatMessage chat{message.role, {}};
    for (const MatPart& part : message.parts) {
      if (!part.image_path) {
        chat.parts.push_back(llm::ContentPart::from_text(part.text));
        continue;
      }
      const fs::path path(*part.image_path);
      try {
        chat.parts.push_back(
            llm::ContentPart::from_image(images.get(path.is_absolute() ? path : base_dir / path)));
      } catch (const core::Error& e) {
        throw core::Error("entry " + (entry.id.empty() ? "without id" : entry.id) + " (" + origin +
                          "): " + e.what());
      }
    }
    messages.push_back(std::move(chat));
  }
  out.turns = target_turns(std::move(messages));
  return out;
}

bool has_target(const Conversation& conversation) {
  return std::any_of(conversation.turns.begin(), conversation.turns.end(),
                     [](const Turn& turn) { return turn.is_target; });
}

std::size_t image_count(const Conversation& conversation) {
  std::size_t count = 0;
  for (const Turn& turn : conversation.turns) {
    for (const llm::ContentPart& part : turn.message.parts) count += part.is_image() ? 1 : 0;
  }
  return count;
}

}  // namespace mat::train

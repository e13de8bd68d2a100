// Training conversations: the chat turns a model was shown, exactly as the agent's memory renders
// them at inference (agent/memory.h), with a flag on the turns the model is trained to write.
// Made from mat's trajectory records and from the original MAT / MM-Traj training JSON; turned
// into token ids by samples.h and into other trainers' formats by dataset_export.h.
//
//   Conversation c = conversation_from_trajectory(record, record_dir, "data.jsonl:3", options,
//                                                 prompts);
//   c.turns[0].message.role == llm::Role::kSystem;  c.turns[2].is_target == true
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mat/agent/prompt.h"
#include "mat/agent/trajectory.h"
#include "mat/core/image.h"
#include "mat/llm/chat_model.h"
#include "mat/train/mat_conversation.h"
#include "mat/train/system_prompts.h"

namespace mat::train {

struct Turn {
  llm::ChatMessage message;
  bool is_target = false;  // an assistant turn the loss is taken on
};

// System prompt, task turn, then assistant and user turns; ends with the last assistant turn,
// since nothing after it can be learned.
struct Conversation {
  std::string id;      // the trajectory's id (MAT: its "id")
  std::string origin;  // where it was read, "FILE:LINE" or "FILE", for messages
  std::vector<Turn> turns;
  int dropped_error_steps = 0;     // by ConversationOptions::drop_error_steps
  int dropped_failed_replies = 0;  // replies the model's API failed part-way through
};

struct ConversationOptions {
  // Leave out the steps that ended in an error (and their error turns), numbering the remaining
  // steps as if they had been the only ones. Replies that the model's API broke off part-way
  // are always left out: they show a failure of the service, not of the model.
  bool drop_error_steps = false;
  // What the agent decodes and downscales images to before the model sees them (its default).
  core::ImageLimits image_limits;
};

// Whether `step` holds a reply the model's API broke off (the agent records what had arrived,
// with finish_reason "error").
bool is_failed_reply(const agent::Step& step);

// The conversation of a trajectory record. Relative image paths in the record (the task's
// attached images, the images steps showed) are read under `record_dir`, or under the record's
// run_dir when they are not there. Throws core::Error naming the record and the image for an
// image that is missing or unreadable, and for a system prompt that cannot be made.
Conversation conversation_from_trajectory(const agent::Trajectory& record,
                                          const std::filesystem::path& record_dir,
                                          const std::string& origin,
                                          const ConversationOptions& options,
                                          SystemPrompts& prompts);

// The conversation of a MAT / MM-Traj training entry; its images are read under `base_dir`
// (relative paths). Throws core::Error naming the entry and the image for an unreadable image.
Conversation conversation_from_mat(const MatConversation& entry,
                                   const std::filesystem::path& base_dir, const std::string& origin,
                                   const ConversationOptions& options);

bool has_target(const Conversation& conversation);
// How many image parts the conversation's turns hold.
std::size_t image_count(const Conversation& conversation);

}  // namespace mat::train

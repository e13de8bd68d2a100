// The original MAT / MM-Traj training JSON, as the MAT-Agent repository's fine-tuning scripts read
// it: a list of entries
//   {"id": "...", "image": "PATH" | {"<image_00>": "PATH", ...}, "system-prompt": "...",
//    "conversations": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
// where each image is put where its placeholder ("<image>", "<image_00>", ...) stands in the text.
// The ShareGPT / LLaVA spelling is read too: {"from": "system"|"human"|"gpt", "value": "..."},
// and "images": [PATH, ...] with one "<image>" per path, in order.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mat/core/json.h"
#include "mat/llm/chat_model.h"

namespace mat::train {

// One part of a message: text, or the image at `image_path` (as the entry writes it).
struct MatPart {
  std::string text;
  std::optional<std::string> image_path;
};

struct MatMessage {
  llm::Role role = llm::Role::kUser;
  std::vector<MatPart> parts;
};

struct MatConversation {
  std::string id;                    // empty when the entry has none
  std::vector<MatMessage> messages;  // an optional system message, then user/assistant turns
};

// Whether `json` is such an entry (an object with "conversations").
bool is_mat_conversation(const core::Json& json);

// Parses one entry. Turns must alternate user/assistant after the optional system turn, starting
// with the user; user turns after the last assistant turn are left out (nothing follows them to
// learn). Throws core::Error saying what is wrong: a missing or mistyped field, an unknown role,
// no assistant turn, a placeholder without its image or an image without its placeholder.
MatConversation parse_mat_conversation(const core::Json& json);

}  // namespace mat::train

#include "mat/llm/chat_model.h"

namespace mat::llm {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
  }
  return "user";
}

std::string ChatMessage::joined_text() const {
  std::string out;
  for (const ContentPart& part : parts) {
    if (part.is_image()) continue;
    if (!out.empty()) out += '\n';
    out += part.text;
  }
  return out;
}

}  // namespace mat::llm

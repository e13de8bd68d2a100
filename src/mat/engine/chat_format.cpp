#include "mat/engine/chat_format.h"

#include "mat/core/error.h"

namespace mat::engine {

std::string render_chat(const std::vector<llm::ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const llm::ChatMessage& m = messages[i];
    if (i == 0 && m.role != llm::Role::kSystem) {
      out.append(kImStart)
          .append("system\n")
          .append(kDefaultSystemPrompt)
          .append(kImEnd)
          .append("\n");
    }
    out.append(kImStart).append(llm::role_name(m.role)).append("\n");
    for (const llm::ContentPart& part : m.parts) {
      if (part.is_image()) {
        out.append(kVisionStart).append(kImagePad).append(kVisionEnd);
      } else {
        out.append(part.text);
      }
    }
    out.append(kImEnd).append("\n");
  }
  if (add_generation_prompt) out.append(kImStart).append("assistant\n");
  return out;
}

std::string expand_image_pads(std::string_view text, const std::vector<std::int64_t>& counts) {
  std::string out;
  std::size_t image = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t hit = text.find(kImagePad, pos);
    if (hit == std::string_view::npos) break;
    if (image >= counts.size()) {
      throw core::Error("the prompt has more " + std::string(kImagePad) +
                        " placeholders than the " + std::to_string(counts.size()) +
                        " image(s) given");
    }
    out.append(text.substr(pos, hit - pos));
    for (std::int64_t k = 0; k < counts[image]; ++k) out.append(kImagePad);
    ++image;
    pos = hit + kImagePad.size();
  }
  if (image != counts.size()) {
    throw core::Error("the prompt has " + std::to_string(image) + " " + std::string(kImagePad) +
                      " placeholder(s) but " + std::to_string(counts.size()) +
                      " image(s) were given");
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace mat::engine

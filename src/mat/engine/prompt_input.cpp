#include "mat/engine/prompt_input.h"

#include <optional>
#include <string>

#include "mat/core/base64.h"
#include "mat/core/error.h"
#include "mat/engine/chat_format.h"

namespace mat::engine {

ProcessedImage process_image_part(const llm::ContentPart& part,
                                  const ImageProcessorConfig& config) {
  const std::string name =
      part.image->source.empty() ? "an image part of the messages" : part.image->source.string();
  std::optional<std::string> bytes = core::base64_decode(part.image->base64);
  if (!bytes || bytes->empty()) {
    throw core::Error(name + ": the image part holds no (valid base64) image bytes");
  }
  return preprocess_image(decode_image(*bytes, name), config);
}

PromptInput prepare_prompt(const std::vector<llm::ChatMessage>& messages,
                           const Tokenizer& tokenizer, const ImageProcessorConfig& config,
                           bool add_generation_prompt) {
  PromptInput prompt;
  std::vector<std::int64_t> counts;
  for (const llm::ChatMessage& message : messages) {
    for (const llm::ContentPart& part : message.parts) {
      if (!part.is_image()) continue;
      prompt.images.push_back(process_image_part(part, config));
      counts.push_back(image_token_count(prompt.images.back(), config.merge_size));
    }
  }
  const std::string text = render_chat(messages, add_generation_prompt);
  prompt.ids = tokenizer.encode(expand_image_pads(text, counts));
  return prompt;
}

}  // namespace mat::engine

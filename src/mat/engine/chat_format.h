// The Qwen2-VL chat template, rendered in code for the messages mat sends (system, user, assistant,
// text and image parts), and the expansion of each image into its <|image_pad|> tokens.
//
//   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n      (when no system message)
//   <|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe.<|im_end|>\n
//   <|im_start|>assistant\n                                           (add_generation_prompt)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mat/llm/chat_model.h"

namespace mat::engine {

inline constexpr std::string_view kImStart = "<|im_start|>";
inline constexpr std::string_view kImEnd = "<|im_end|>";
inline constexpr std::string_view kVisionStart = "<|vision_start|>";
inline constexpr std::string_view kVisionEnd = "<|vision_end|>";
inline constexpr std::string_view kImagePad = "<|image_pad|>";
inline constexpr std::string_view kDefaultSystemPrompt = "You are a helpful assistant.";

// The chat text exactly as the template renders it, one <|image_pad|> per image part.
std::string render_chat(const std::vector<llm::ChatMessage>& messages, bool add_generation_prompt);

// Replaces the i-th <|image_pad|> of `text` with `counts[i]` copies of it (what the processor does
// once it knows each image's grid). Throws core::Error when the text holds a different number of
// placeholders than there are images.
std::string expand_image_pads(std::string_view text, const std::vector<std::int64_t>& counts);

}  // namespace mat::engine

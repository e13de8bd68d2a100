// Chat messages to the model's input, without libtorch: the Qwen2-VL chat template, each image
// part decoded, preprocessed and expanded to its <|image_pad|> run, the text tokenised. One
// function for inference (LocalEngine::prepare) and training samples (mat::train), so that both
// see the same tokens.
//
//   PromptInput prompt = prepare_prompt(messages, tokenizer, image_config);
#pragma once

#include <vector>

#include "mat/engine/generator.h"
#include "mat/engine/image_processor.h"
#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/tokenizer.h"
#include "mat/llm/chat_model.h"

namespace mat::engine {

// The image of an image part (its base64 bytes decoded, then preprocessed). Throws core::Error
// naming the image's source file for bytes that are not a decodable image.
ProcessedImage process_image_part(const llm::ContentPart& part, const ImageProcessorConfig& config);

PromptInput prepare_prompt(const std::vector<llm::ChatMessage>& messages,
                           const Tokenizer& tokenizer, const ImageProcessorConfig& config,
                           bool add_generation_prompt = true);

}  // namespace mat::engine

// One tokenized training sample: what the LoRA trainer consumes and samples.h produces.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mat/engine/image_processor.h"

namespace mat::train {

// One training sample: a conversation exactly as the engine's chat format renders it for the
// model, with a per-token flag for the tokens the loss is taken on.
struct Sample {
  std::string id;                              // the trajectory id (for errors and logs)
  std::vector<std::int32_t> ids;               // every image expanded to its <|image_pad|> run
  std::vector<std::uint8_t> is_target;         // 1: an assistant-turn token (its <|im_end|> too)
  std::vector<engine::ProcessedImage> images;  // in the order of their pad runs
};

}  // namespace mat::train

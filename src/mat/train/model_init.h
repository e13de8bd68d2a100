// `mat model init`: a randomly initialised Qwen2-VL checkpoint of any size, written as a real
// Hugging Face folder (config.json in transformers' nested layout, model.safetensors,
// tokenizer.json, tokenizer_config.json with the chat template, generation_config.json,
// preprocessor_config.json) that mat's engine, `mat train` and transformers load. The base of the
// offline loop's tiny controller, before pretraining. Torch-free header.
//
//   ModelInitOptions o;  o.hidden = 256;  o.layers = 4;
//   std::int64_t params = write_initial_model("tokenizer.json", "models/tiny", o);
#pragma once

#include <cstdint>
#include <filesystem>

#include "mat/core/json.h"

namespace mat::train {

struct ModelInitOptions {
  int hidden = 256;
  int layers = 4;
  int heads = 4;
  int kv_heads = 2;
  int intermediate = 688;
  int max_positions = 8192;
  int vision_depth = 1;
  int vision_dim = 64;
  int vision_heads = 4;
  int vision_mlp_ratio = 2;
  int max_image_tokens = 64;  // the processor's max_pixels, in merged 28x28 patches
  double init_std = 0.02;     // transformers' initializer_range: weights ~ N(0, std)
  std::uint64_t seed = 0;
};

// The config.json of a model of these sizes for `tokenizer` (its vocabulary rounded up to a
// multiple of 64; the Qwen2-VL special tokens' ids). Throws core::Error when the tokenizer lacks
// a special token the model needs or the sizes are inconsistent (heads not dividing widths).
core::Json qwen2vl_config_json(const ModelInitOptions& options,
                               const std::filesystem::path& tokenizer);

// Writes the folder `out` (created; files in it replaced) and returns the parameter count. The
// weights follow transformers' initialisation: linear and embedding weights ~ N(0, init_std),
// biases 0, norm weights 1; the head is tied to the embeddings. Deterministic given the seed.
std::int64_t write_initial_model(const std::filesystem::path& tokenizer,
                                 const std::filesystem::path& out, const ModelInitOptions& options);

}  // namespace mat::train

// Qwen2-VL's config.json and preprocessor_config.json, in every layout transformers has written:
// the flat one of the original release (text fields at the top, rope_scaling, in_chans) and the
// nested one of transformers >= 4.52 / 5 (text_config, rope_parameters, in_channels).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mat/core/json.h"

namespace mat::engine {

struct Qwen2VLTextConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;  // hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 1000000.0;
  std::vector<int> mrope_section;  // temporal, height, width; sums to head_dim / 2
  int max_position_embeddings = 32768;
  std::string hidden_act = "silu";
  bool tie_word_embeddings = false;
};

struct Qwen2VLVisionConfig {
  int depth = 0;
  int embed_dim = 0;
  int hidden_size = 0;  // output width of the merger = the text model's hidden size
  int mlp_ratio = 4;
  int num_heads = 0;
  int in_channels = 3;
  int patch_size = 14;
  int spatial_merge_size = 2;
  int temporal_patch_size = 2;
  std::string hidden_act = "quick_gelu";
};

struct Qwen2VLConfig {
  Qwen2VLTextConfig text;
  Qwen2VLVisionConfig vision;
  int image_token_id = -1;
  int video_token_id = -1;
  int vision_start_token_id = -1;
  int vision_end_token_id = -1;
  std::vector<int> eos_token_ids;
};

// Parses config.json. Throws core::Error naming the file for another architecture (say which one
// it is), a missing or ill-typed field, or inconsistent sizes (heads not dividing the width,
// M-RoPE sections not summing to head_dim / 2).
Qwen2VLConfig parse_qwen2vl_config(const core::Json& json, const std::string& name);
Qwen2VLConfig load_qwen2vl_config(const std::filesystem::path& path);

struct ImageProcessorConfig {
  std::int64_t min_pixels = 56 * 56;
  std::int64_t max_pixels = 28 * 28 * 1280;
  int patch_size = 14;
  int temporal_patch_size = 2;
  int merge_size = 2;
  std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};
  double rescale_factor = 1.0 / 255.0;
  bool do_resize = true;
  bool do_rescale = true;
  bool do_normalize = true;
  bool do_convert_rgb = true;
  int resample = 3;  // PIL's BICUBIC; the only one supported
};

// Parses preprocessor_config.json (min/max pixels from "size" {shortest_edge, longest_edge} or
// {min_pixels, max_pixels}, or top-level min_pixels/max_pixels). Throws core::Error naming the
// file for another processor type or an unsupported resample filter.
ImageProcessorConfig parse_image_processor_config(const core::Json& json, const std::string& name);
ImageProcessorConfig load_image_processor_config(const std::filesystem::path& path);

}  // namespace mat::engine

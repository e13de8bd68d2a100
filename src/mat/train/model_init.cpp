#include "mat/train/model_init.h"

#include <torch/torch.h>

#include "mat/core/error.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/tokenizer.h"
#include "mat/engine/tokenizer_trainer.h"
#include "mat/train/model_writer.h"

namespace mat::train {

namespace {

namespace fs = std::filesystem;
using core::Json;

// Qwen2-VL's chat template (what its tokenizer_config.json holds), for transformers'
// apply_chat_template; mat renders the same text in engine/chat_format.
constexpr std::string_view kChatTemplate =
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

constexpr int kPatch = 14;
constexpr int kMerge = 2;

struct SpecialIds {
  std::int32_t endoftext, im_end, vision_start, vision_end, image_pad, video_pad;
};

SpecialIds special_ids(const engine::Tokenizer& tokenizer, const fs::path& path) {
  auto id = [&](std::string_view token) {
    const auto found = tokenizer.token_to_id(token);
    if (!found) {
      throw core::Error("tokenizer '" + path.string() + "' has no " + std::string(token) +
                        " token, which Qwen2-VL's chat format needs; train one with `mat "
                        "tokenizer train`");
    }
    return *found;
  };
  return {id("<|endoftext|>"),  id("<|im_end|>"),    id("<|vision_start|>"),
          id("<|vision_end|>"), id("<|image_pad|>"), id("<|video_pad|>")};
}

void require(bool ok, const std::string& what) {
  if (!ok) throw core::Error("mat model init: " + what);
}

Json preprocessor_config(const ModelInitOptions& o) {
  const int side = kPatch * kMerge;
  return {
      {"do_convert_rgb", true},
      {"do_normalize", true},
      {"do_rescale", true},
      {"do_resize", true},
      {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
      {"image_processor_type", "Qwen2VLImageProcessor"},
      {"image_std", {0.26862954, 0.26130258, 0.27577711}},
      {"merge_size", kMerge},
      {"patch_size", kPatch},
      {"resample", 3},
      {"rescale_factor", 1.0 / 255.0},
      {"size",
       {{"longest_edge", o.max_image_tokens * side * side}, {"shortest_edge", 4 * side * side}}},
      {"temporal_patch_size", 2}};
}

Json tokenizer_config() {
  Json special = Json::array();
  for (const std::string& t : engine::qwen2vl_special_tokens()) special.push_back(t);
  return {{"add_prefix_space", false},
          {"bos_token", nullptr},
          {"clean_up_tokenization_spaces", false},
          {"eos_token", "<|im_end|>"},
          {"errors", "replace"},
          {"extra_special_tokens", special},
          {"model_max_length", 32768},
          {"pad_token", "<|endoftext|>"},
          {"processor_class", "Qwen2VLProcessor"},
          {"split_special_tokens", false},
          {"tokenizer_class", "Qwen2Tokenizer"},
          {"unk_token", nullptr},
          {"chat_template", kChatTemplate}};
}

// Normal weights, zero biases, unit norms: transformers' _init_weights for Qwen2-VL.
void initialise(engine::Qwen2VLModelImpl& model, double std) {
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_parameters(true)) {
    const std::string& name = item.key();
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      item.value().zero_();
    } else {
      item.value().normal_(0.0, std);
    }
  }
  for (const auto& module : model.modules(false)) {
    if (auto* rms = module->as<engine::RmsNormImpl>()) rms->weight.fill_(1.0);
    if (auto* ln = module->as<engine::LayerNormImpl>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

}  // namespace

Json qwen2vl_config_json(const ModelInitOptions& o, const fs::path& tokenizer_path) {
  require(o.hidden > 0 && o.layers > 0 && o.heads > 0 && o.kv_heads > 0 && o.intermediate > 0,
          "--hidden, --layers, --heads, --kv-heads and --intermediate must be positive");
  require(o.hidden % o.heads == 0, "--heads must divide --hidden");
  require(o.heads % o.kv_heads == 0, "--kv-heads must divide --heads");
  const int head_dim = o.hidden / o.heads;
  require(head_dim % 2 == 0 && head_dim >= 8, "--hidden / --heads must be even and at least 8");
  require(o.vision_depth > 0 && o.vision_dim > 0 && o.vision_heads > 0 && o.vision_mlp_ratio > 0,
          "the vision sizes must be positive");
  require(o.vision_dim % o.vision_heads == 0 && (o.vision_dim / o.vision_heads) % 4 == 0,
          "--vision-heads must divide --vision-dim into heads of a multiple of 4");
  require(o.max_image_tokens >= 4, "--max-image-tokens must be at least 4");

  const engine::Tokenizer tokenizer = engine::Tokenizer::load(tokenizer_path);
  const SpecialIds ids = special_ids(tokenizer, tokenizer_path);
  const auto vocab = static_cast<std::int64_t>((tokenizer.vocab_size() + 63) / 64 * 64);
  // M-RoPE splits the rotary half of a head as Qwen2-VL's [16, 24, 24] does for 128.
  const int half = head_dim / 2;
  const int spatial = half * 3 / 8;
  Json layer_types = Json::array();
  for (int i = 0; i < o.layers; ++i) layer_types.push_back("full_attention");
  const Json text = {{"attention_dropout", 0.0},
                     {"bos_token_id", ids.endoftext},
                     {"dtype", "float32"},
                     {"eos_token_id", ids.im_end},
                     {"hidden_act", "silu"},
                     {"hidden_size", o.hidden},
                     {"initializer_range", o.init_std},
                     {"intermediate_size", o.intermediate},
                     {"layer_types", layer_types},
                     {"max_position_embeddings", o.max_positions},
                     {"max_window_layers", o.layers},
                     {"model_type", "qwen2_vl_text"},
                     {"num_attention_heads", o.heads},
                     {"num_hidden_layers", o.layers},
                     {"num_key_value_heads", o.kv_heads},
                     {"pad_token_id", nullptr},
                     {"rms_norm_eps", 1e-6},
                     {"rope_parameters",
                      {{"mrope_section", {half - 2 * spatial, spatial, spatial}},
                       {"rope_theta", 1000000.0},
                       {"rope_type", "default"}}},
                     {"sliding_window", nullptr},
                     {"tie_word_embeddings", true},
                     {"use_cache", true},
                     {"use_sliding_window", false},
                     {"vocab_size", vocab}};
  const Json vision = {{"depth", o.vision_depth},
                       {"dtype", "float32"},
                       {"embed_dim", o.vision_dim},
                       {"hidden_act", "quick_gelu"},
                       {"hidden_size", o.hidden},
                       {"in_channels", 3},
                       {"initializer_range", o.init_std},
                       {"mlp_ratio", o.vision_mlp_ratio},
                       {"model_type", "qwen2_vl_vision"},
                       {"num_heads", o.vision_heads},
                       {"patch_size", kPatch},
                       {"spatial_merge_size", kMerge},
                       {"temporal_patch_size", 2}};
  return {{"architectures", {"Qwen2VLForConditionalGeneration"}},
          {"dtype", "float32"},
          {"image_token_id", ids.image_pad},
          {"model_type", "qwen2_vl"},
          {"text_config", text},
          {"tie_word_embeddings", true},
          {"video_token_id", ids.video_pad},
          {"vision_config", vision},
          {"vision_end_token_id", ids.vision_end},
          {"vision_start_token_id", ids.vision_start}};
}

std::int64_t write_initial_model(const fs::path& tokenizer, const fs::path& out,
                                 const ModelInitOptions& options) {
  const Json config = qwen2vl_config_json(options, tokenizer);
  const engine::Qwen2VLConfig parsed = engine::parse_qwen2vl_config(config, "config.json");
  torch::manual_seed(options.seed);
  engine::Qwen2VLModel model(parsed, engine::ModelOptions{torch::kFloat32, torch::kCPU});
  initialise(*model, options.init_std);

  fs::create_directories(out);
  core::write_json_file(out / "config.json", config);
  const std::int32_t endoftext = config["text_config"]["bos_token_id"].get<std::int32_t>();
  const std::int32_t im_end = config["text_config"]["eos_token_id"].get<std::int32_t>();
  core::write_json_file(out / "generation_config.json", {{"bos_token_id", endoftext},
                                                         {"do_sample", false},
                                                         {"eos_token_id", {im_end, endoftext}},
                                                         {"pad_token_id", endoftext},
                                                         {"use_cache", true}});
  core::write_json_file(out / "tokenizer_config.json", tokenizer_config());
  core::write_json_file(out / "preprocessor_config.json", preprocessor_config(options));
  if (!fs::exists(out / "tokenizer.json") || !fs::equivalent(tokenizer, out / "tokenizer.json")) {
    fs::copy_file(tokenizer, out / "tokenizer.json", fs::copy_options::overwrite_existing);
  }
  write_model_weights(*model, out / "model.safetensors", {});
  std::int64_t count = 0;
  for (const torch::Tensor& p : model->parameters()) count += p.numel();
  return count;
}

}  // namespace mat::train

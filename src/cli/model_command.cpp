#include "model_command.h"

#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/train/model_init.h"

namespace mat::cli {
namespace {

struct ModelInitSettings {
  std::string tokenizer;
  std::string out;
  train::ModelInitOptions options;
};

int init(const ModelInitSettings& s) {
  try {
    const std::int64_t params = train::write_initial_model(s.tokenizer, s.out, s.options);
    std::cerr << "mat model init: " << params << " parameters\n";
    std::cout << s.out << "\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "mat model init: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_model_command(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("model", "Model checkpoints for the local engine");
  group->require_subcommand(1);
  auto s = std::make_shared<ModelInitSettings>();
  train::ModelInitOptions& o = s->options;
  CLI::App* cmd = group->add_subcommand(
      "init", "Write a randomly initialised Qwen2-VL checkpoint (Hugging Face folder)");
  cmd->add_option("--tokenizer", s->tokenizer, "tokenizer.json (from `mat tokenizer train`)")
      ->required();
  cmd->add_option("--out", s->out, "The checkpoint folder to write")->required();
  cmd->add_option("--hidden", o.hidden, "Text model width")->capture_default_str();
  cmd->add_option("--layers", o.layers, "Decoder layers")->capture_default_str();
  cmd->add_option("--heads", o.heads, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o.kv_heads, "Key/value heads")->capture_default_str();
  cmd->add_option("--intermediate", o.intermediate, "MLP width")->capture_default_str();
  cmd->add_option("--max-positions", o.max_positions, "max_position_embeddings")
      ->capture_default_str();
  cmd->add_option("--vision-depth", o.vision_depth, "Vision tower blocks")->capture_default_str();
  cmd->add_option("--vision-dim", o.vision_dim, "Vision tower width")->capture_default_str();
  cmd->add_option("--vision-heads", o.vision_heads, "Vision attention heads")
      ->capture_default_str();
  cmd->add_option("--vision-mlp-ratio", o.vision_mlp_ratio)->capture_default_str();
  cmd->add_option("--max-image-tokens", o.max_image_tokens,
                  "Largest image, in tokens (the processor's max_pixels / 28^2)")
      ->capture_default_str();
  cmd->add_option("--init-std", o.init_std, "Weights ~ N(0, std)")->capture_default_str();
  cmd->add_option("--seed", o.seed)->capture_default_str();
  cmd->callback([s, &exit_code] { exit_code = init(*s); });
}

}  // namespace mat::cli

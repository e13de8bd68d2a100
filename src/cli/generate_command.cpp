#include "generate_command.h"

#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/core/image.h"
#include "mat/engine/local_engine.h"

namespace mat::cli {
namespace {

struct GenerateSettings {
  std::string weights;
  std::string lora;
  std::vector<std::string> images;
  std::string prompt;
  std::string system;
  int max_tokens = 256;
  double temperature = 0.0;
  double top_p = 1.0;
  int top_k = 0;
  double repetition_penalty = 1.0;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;
  std::string dtype = "bf16";
  std::string device = "cpu";
  int threads = 0;
  bool stats = false;
};

int generate(const GenerateSettings& s) {
  try {
    engine::EngineOptions options;
    options.dtype = s.dtype;
    options.device = s.device;
    options.threads = s.threads;
    auto engine = engine::LocalEngine::load(s.weights, options);
    if (!s.lora.empty()) engine->load_adapter("lora", s.lora);

    std::vector<llm::ChatMessage> messages;
    if (!s.system.empty()) messages.push_back(llm::ChatMessage::text(llm::Role::kSystem, s.system));
    llm::ChatMessage user{llm::Role::kUser, {}};
    core::ImageLimits limits;
    limits.max_side = 1 << 20;  // the processor resizes; keep the file's own pixels
    for (const std::string& path : s.images) {
      user.parts.push_back(llm::ContentPart::from_image(
          std::make_shared<core::EncodedImage>(core::encode_image(path, limits))));
    }
    user.parts.push_back(llm::ContentPart::from_text(s.prompt));
    messages.push_back(std::move(user));

    engine::SamplingParams params;
    params.max_tokens = s.max_tokens;
    params.temperature = s.temperature;
    params.top_p = s.top_p;
    params.top_k = s.top_k;
    params.repetition_penalty = s.repetition_penalty;
    params.seed = s.seed;
    params.stop = s.stop;
    const engine::PromptInput prompt = engine->prepare(messages);
    const engine::GenerationResult r =
        engine->generate(prompt, params, s.lora.empty() ? "" : "lora",
                         [](std::string_view piece) { std::cout << piece << std::flush; });
    std::cout << "\n";
    if (s.stats) {
      const double decode_tokens = r.ids.size() > 1 ? static_cast<double>(r.ids.size() - 1) : 0;
      std::cerr << "mat generate: " << r.prompt_tokens << " prompt tokens in " << r.prefill_ms
                << " ms (" << (r.prefill_ms > 0 ? 1000.0 * r.prompt_tokens / r.prefill_ms : 0)
                << " tokens/s), " << r.ids.size() << " generated, decode "
                << (r.decode_ms > 0 ? 1000.0 * decode_tokens / r.decode_ms : 0)
                << " tokens/s, finish: " << r.finish_reason << "\n";
    }
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "mat generate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_generate_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<GenerateSettings>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Generate a reply with the local Qwen2-VL engine (offline, libtorch)");
  cmd->add_option("prompt", s->prompt, "The user message")->required();
  cmd->add_option("--weights", s->weights,
                  "A Hugging Face Qwen2-VL checkpoint folder (config.json, tokenizer.json, "
                  "*.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--lora", s->lora, "A PEFT LoRA adapter folder to apply")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--image", s->images, "An image shown before the prompt (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--system", s->system, "A system message (default: the template's)");
  cmd->add_option("--max-tokens", s->max_tokens, "Most tokens to generate")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", s->temperature, "Sampling temperature; 0 is greedy")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", s->top_p, "Nucleus sampling mass")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", s->top_k, "Sample among the k best tokens; 0 is off")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repetition-penalty", s->repetition_penalty, "1 is off")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", s->seed, "Random seed for sampling");
  cmd->add_option("--stop", s->stop, "Stop before this text (repeatable)");
  cmd->add_option("--dtype", s->dtype, "bf16, f32 or f16")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "f32", "f16"}));
  cmd->add_option("--device", s->device, "cpu, cuda or cuda:N (CUDA needs a CUDA libtorch)")
      ->capture_default_str();
  cmd->add_option("--threads", s->threads, "libtorch threads; 0 keeps its default")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--stats", s->stats, "Print prompt and decode speed to stderr");
  cmd->callback([s, &exit_code] { exit_code = generate(*s); });
}

}  // namespace mat::cli

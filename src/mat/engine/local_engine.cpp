#include "mat/engine/local_engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "mat/core/base64.h"
#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/chat_format.h"
#include "mat/engine/qwen2vl_model.h"

namespace mat::engine {

namespace {

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  if (name == "f32" || name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "f16" || name == "fp16" || name == "float16") return torch::kFloat16;
  throw core::Error("unknown dtype '" + name + "': use bf16, f32 or f16");
}

torch::Device parse_device(const std::string& name) {
  try {
    torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available()) {
      throw core::Error("device '" + name +
                        "': this libtorch has no CUDA (or no GPU is visible); build against a "
                        "CUDA libtorch with -DTorch_DIR=... or use --device cpu");
    }
    return device;
  } catch (const c10::Error& e) {
    throw core::Error("unknown device '" + name + "': use cpu, cuda or cuda:N");
  }
}

}  // namespace

struct LocalEngine::Impl {
  std::filesystem::path weights;
  Qwen2VLModel model{nullptr};
  Tokenizer tokenizer;
  ImageProcessorConfig image_config;
  std::vector<std::int32_t> stop_ids;
  std::set<std::string> adapters;
  bool merge = false;
  std::mutex mutex;
};

LocalEngine::LocalEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalEngine::~LocalEngine() = default;

std::unique_ptr<LocalEngine> LocalEngine::load(const std::filesystem::path& weights,
                                               const EngineOptions& options) {
  if (!std::filesystem::is_directory(weights)) {
    throw core::Error(weights.string() +
                      ": not a folder; --weights takes a Hugging Face checkpoint folder "
                      "(config.json, tokenizer.json, *.safetensors)");
  }
  if (options.threads > 0) torch::set_num_threads(options.threads);
  ModelOptions model_options;
  model_options.dtype = parse_dtype(options.dtype);
  model_options.device = parse_device(options.device);
  auto tokenizer = Tokenizer::load(weights / "tokenizer.json");
  auto impl = std::unique_ptr<Impl>(new Impl{weights,
                                             load_qwen2vl_model(weights, model_options),
                                             std::move(tokenizer),
                                             {},
                                             {},
                                             {},
                                             false,
                                             {}});
  impl->model->eval();
  if (std::filesystem::exists(weights / "preprocessor_config.json")) {
    impl->image_config = load_image_processor_config(weights / "preprocessor_config.json");
  }
  // End of turn: the config's eos ids, generation_config.json's, and the chat template's markers.
  std::set<std::int32_t> stop(impl->model->config().eos_token_ids.begin(),
                              impl->model->config().eos_token_ids.end());
  if (std::filesystem::exists(weights / "generation_config.json")) {
    const core::Json gen = core::read_json_file(weights / "generation_config.json");
    if (gen.contains("eos_token_id")) {
      const core::Json& eos = gen["eos_token_id"];
      if (eos.is_number_integer()) stop.insert(eos.get<std::int32_t>());
      if (eos.is_array()) {
        for (const core::Json& e : eos) {
          if (e.is_number_integer()) stop.insert(e.get<std::int32_t>());
        }
      }
    }
  }
  for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = impl->tokenizer.token_to_id(token)) stop.insert(*id);
  }
  impl->stop_ids.assign(stop.begin(), stop.end());
  return std::unique_ptr<LocalEngine>(new LocalEngine(std::move(impl)));
}

void LocalEngine::load_adapter(const std::string& name, const std::filesystem::path& dir) {
  std::lock_guard lock(impl_->mutex);
  torch::NoGradGuard no_grad;
  apply_peft_adapter(*impl_->model, name, dir);
  impl_->adapters.insert(name);
}

void LocalEngine::unload_adapter(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  remove_adapter(*impl_->model, name);
  impl_->adapters.erase(name);
}

std::vector<std::string> LocalEngine::adapters() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->adapters.begin(), impl_->adapters.end()};
}

void LocalEngine::set_merge_adapters(bool merge) {
  std::lock_guard lock(impl_->mutex);
  impl_->merge = merge;
  if (!merge) unmerge_adapter(*impl_->model);
}

PromptInput LocalEngine::prepare(const std::vector<llm::ChatMessage>& messages,
                                 bool add_generation_prompt) const {
  PromptInput prompt;
  std::vector<std::int64_t> counts;
  for (const llm::ChatMessage& message : messages) {
    for (const llm::ContentPart& part : message.parts) {
      if (!part.is_image()) continue;
      const std::string name = part.image->source.empty() ? "an image part of the messages"
                                                          : part.image->source.string();
      std::optional<std::string> bytes = core::base64_decode(part.image->base64);
      if (!bytes || bytes->empty()) {
        throw core::Error(name + ": the image part holds no (valid base64) image bytes");
      }
      prompt.images.push_back(preprocess_image(decode_image(*bytes, name), impl_->image_config));
      counts.push_back(image_token_count(prompt.images.back(), impl_->image_config.merge_size));
    }
  }
  const std::string text = render_chat(messages, add_generation_prompt);
  prompt.ids = impl_->tokenizer.encode(expand_image_pads(text, counts));
  return prompt;
}

GenerationResult LocalEngine::generate(const PromptInput& prompt, const SamplingParams& params,
                                       const std::string& adapter, const TextCallback& on_text,
                                       const CancelCheck& cancel) {
  std::lock_guard lock(impl_->mutex);
  if (!adapter.empty() && impl_->adapters.count(adapter) == 0) {
    throw core::Error("LoRA adapter '" + adapter +
                      "' is not loaded (loaded: " + std::to_string(impl_->adapters.size()) + ")");
  }
  {
    torch::NoGradGuard no_grad;
    set_active_adapter(*impl_->model, adapter);
    if (impl_->merge) merge_active_adapter(*impl_->model);
  }
  SamplingParams p = params;
  if (p.stop_token_ids.empty()) p.stop_token_ids = impl_->stop_ids;
  return engine::generate(*impl_->model, impl_->tokenizer, prompt, p, on_text, cancel);
}

std::vector<std::int32_t> LocalEngine::default_stop_token_ids() const {
  return impl_->stop_ids;
}
const Tokenizer& LocalEngine::tokenizer() const {
  return impl_->tokenizer;
}
const Qwen2VLConfig& LocalEngine::config() const {
  return impl_->model->config();
}
const std::filesystem::path& LocalEngine::weights() const {
  return impl_->weights;
}
Qwen2VLModelImpl& LocalEngine::model() {
  return *impl_->model;
}

}  // namespace mat::engine

#include "mat/engine/local_engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/engine/prompt_input.h"
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
  // The last single request's keys and values, for the next prompt that begins the same way (an
  // agent's next step), and the adapter they were computed with.
  PromptCache prompt_cache;
  std::string cached_adapter;
  std::mutex mutex;          // the model: one generation (or adapter change) at a time
  std::mutex names_mutex;    // `adapters`, readable while a generation runs
  std::mutex prepare_mutex;  // the tokenizer's word cache is not thread-safe
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
                                             {},
                                             {},
                                             {},
                                             {},
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
  impl_->prompt_cache.clear();  // the adapter may replace one of the same name
  apply_peft_adapter(*impl_->model, name, dir);
  std::lock_guard names_lock(impl_->names_mutex);
  impl_->adapters.insert(name);
}

void LocalEngine::unload_adapter(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  impl_->prompt_cache.clear();
  remove_adapter(*impl_->model, name);
  std::lock_guard names_lock(impl_->names_mutex);
  impl_->adapters.erase(name);
}

std::vector<std::string> LocalEngine::adapters() const {
  std::lock_guard lock(impl_->names_mutex);
  return {impl_->adapters.begin(), impl_->adapters.end()};
}

void LocalEngine::set_merge_adapters(bool merge) {
  std::lock_guard lock(impl_->mutex);
  impl_->merge = merge;
  impl_->prompt_cache.clear();  // merged weights round differently
  if (!merge) unmerge_adapter(*impl_->model);
}

PromptInput LocalEngine::prepare(const std::vector<llm::ChatMessage>& messages,
                                 bool add_generation_prompt) const {
  std::lock_guard lock(impl_->prepare_mutex);
  return prepare_prompt(messages, impl_->tokenizer, impl_->image_config, add_generation_prompt);
}

void LocalEngine::activate(const std::string& adapter) {
  if (!adapter.empty() && impl_->adapters.count(adapter) == 0) {
    throw core::Error("LoRA adapter '" + adapter +
                      "' is not loaded (loaded: " + std::to_string(impl_->adapters.size()) + ")");
  }
  torch::NoGradGuard no_grad;
  set_active_adapter(*impl_->model, adapter);
  if (impl_->merge) merge_active_adapter(*impl_->model);
}

GenerationResult LocalEngine::generate(const PromptInput& prompt, const SamplingParams& params,
                                       const std::string& adapter, const TextCallback& on_text,
                                       const CancelCheck& cancel) {
  return std::move(generate_batch({{&prompt, params, on_text, cancel}}, adapter).front());
}

std::vector<GenerationResult> LocalEngine::generate_batch(std::vector<GenerationRequest> requests,
                                                          const std::string& adapter) {
  std::lock_guard lock(impl_->mutex);
  activate(adapter);
  for (GenerationRequest& request : requests) {
    if (request.params.stop_token_ids.empty()) request.params.stop_token_ids = impl_->stop_ids;
  }
  if (adapter != impl_->cached_adapter) {
    impl_->prompt_cache.clear();
    impl_->cached_adapter = adapter;
  }
  return engine::generate_batch(*impl_->model, impl_->tokenizer, requests, &impl_->prompt_cache);
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

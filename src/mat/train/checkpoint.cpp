#include "mat/train/checkpoint.h"

#include <torch/torch.h>

#include <mutex>

#include "mat/core/error.h"
#include "mat/train/tensor_file.h"

namespace mat::train {

namespace {

constexpr const char* kTrainedFile = "trained.safetensors";

at::Generator cpu_generator() {
  return at::detail::getDefaultCPUGenerator();
}

}  // namespace

void save_checkpoint(const std::filesystem::path& dir,
                     const std::map<std::string, torch::Tensor>& trained, const AdamW& optimizer,
                     std::int64_t step, const core::Json& options) {
  namespace fs = std::filesystem;
  const fs::path tmp = dir.string() + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write_tensor_file(tmp / kTrainedFile, trained);
  write_tensor_file(tmp / "optimizer.safetensors", optimizer.state());
  torch::Tensor rng;
  {
    at::Generator gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng = gen.get_state();
  }
  write_tensor_file(tmp / "rng.safetensors", {{"cpu", rng}});  // bytes are exact in float32
  core::write_json_file(
      tmp / "checkpoint.json",
      {{"step", step}, {"optimizer_steps", optimizer.steps()}, {"options", options}});
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

std::int64_t load_checkpoint(const std::filesystem::path& dir,
                             const std::map<std::string, torch::Tensor>& trained, AdamW& optimizer,
                             const core::Json& options) {
  const std::filesystem::path info_path = dir / "checkpoint.json";
  if (!std::filesystem::exists(info_path)) {
    throw core::Error(dir.string() +
                      ": no checkpoint to resume from (checkpoint.json is missing); "
                      "run without --resume to start over");
  }
  const core::Json info = core::read_json_file(info_path);
  if (info.value("options", core::Json()) != options) {
    throw core::Error(info_path.string() + ": the checkpoint was made with other options (" +
                      info.value("options", core::Json()).dump() +
                      "); resume with the same flags "
                      "or start a new output folder");
  }
  const auto saved = read_tensor_file(dir / kTrainedFile);
  torch::NoGradGuard no_grad;
  for (const auto& [name, param] : trained) {
    auto it = saved.find(name);
    if (it == saved.end() || it->second.sizes() != param.sizes()) {
      throw core::Error(dir.string() + ": trained tensor '" + name +
                        "' is missing or misshapen; the checkpoint is damaged");
    }
    param.copy_(it->second);
  }
  optimizer.load_state(read_tensor_file(dir / "optimizer.safetensors"),
                       info.at("optimizer_steps").get<std::int64_t>());
  const torch::Tensor rng = read_tensor_file(dir / "rng.safetensors").at("cpu").to(torch::kUInt8);
  at::Generator gen = cpu_generator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rng);
  return info.at("step").get<std::int64_t>();
}

}  // namespace mat::train

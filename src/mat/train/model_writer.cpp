#include "mat/train/model_writer.h"

#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

namespace mat::train {

namespace fs = std::filesystem;

CheckpointFormat checkpoint_format(const fs::path& dir) {
  const engine::SafetensorsCheckpoint checkpoint = engine::SafetensorsCheckpoint::open(dir);
  CheckpointFormat format;
  format.naming = engine::TensorNaming::kLegacy;
  bool dtype_known = false;
  for (const std::string& name : checkpoint.names()) {
    if (name.rfind("model.language_model.", 0) == 0 || name.rfind("model.visual.", 0) == 0) {
      format.naming = engine::TensorNaming::kModern;
    }
    const engine::DType d = checkpoint.find(name)->dtype;
    if (!dtype_known &&
        (d == engine::DType::kBF16 || d == engine::DType::kF16 || d == engine::DType::kF32)) {
      format.file_dtype = d;
      format.dtype = d == engine::DType::kBF16  ? torch::kBFloat16
                     : d == engine::DType::kF16 ? torch::kFloat16
                                                : torch::kFloat32;
      dtype_known = true;
    }
  }
  return format;
}

void write_model_weights(engine::Qwen2VLModelImpl& model, const fs::path& file,
                         const CheckpointFormat& format) {
  std::vector<torch::Tensor> keep;  // the bytes TensorRef borrows
  std::vector<engine::TensorRef> refs;
  const auto& vision = model.config().vision;
  for (const auto& item : model.named_parameters(true)) {
    const std::string& ours = item.key();
    if (ours.find(".lora_") != std::string::npos) continue;
    const std::string modern = ours.rfind("lm_head", 0) == 0 ? ours : "model." + ours;
    torch::Tensor t = item.value().detach().to(format.dtype).contiguous();
    if (ours == "visual.patch_embed.proj.weight") {  // back to the Conv3d the checkpoint holds
      t = t.view({vision.embed_dim, vision.in_channels, vision.temporal_patch_size,
                  vision.patch_size, vision.patch_size});
    }
    keep.push_back(t);
    refs.push_back({engine::rename_tensor(modern, format.naming),
                    format.file_dtype,
                    std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end()),
                    {static_cast<const std::byte*>(t.data_ptr()), t.nbytes()}});
  }
  engine::write_safetensors(file, refs, {{"format", "pt"}});
}

void copy_model_files(const fs::path& from, const fs::path& to) {
  // What trained `from` (its log, curve and options) describes that run, not the model: a tuning
  // writes its own into the same folder.
  static const std::set<std::string> training_records = {"train_log.jsonl", "loss.svg",
                                                          "train_config.json",
                                                          "pretrain_config.json"};
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() == ".safetensors" ||
        name == "model.safetensors.index.json" || training_records.count(name) > 0) {
      continue;
    }
    fs::copy_file(entry.path(), to / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace mat::train

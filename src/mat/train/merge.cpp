#include "mat/train/merge.h"

#include <torch/torch.h>

#include <vector>

#include "mat/core/error.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"

namespace mat::train {

namespace {

namespace fs = std::filesystem;

struct CheckpointFormat {
  torch::Dtype dtype = torch::kFloat32;
  engine::DType file_dtype = engine::DType::kF32;
  engine::TensorNaming naming = engine::TensorNaming::kLegacy;
};

// The dtype of the base's weights (the first floating tensor's) and its naming scheme.
CheckpointFormat format_of(const fs::path& base) {
  const engine::SafetensorsCheckpoint checkpoint = engine::SafetensorsCheckpoint::open(base);
  CheckpointFormat format;
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

}  // namespace

void write_merged_model(const fs::path& base, const fs::path& lora, const fs::path& out) {
  if (fs::exists(out) && fs::exists(base) && fs::equivalent(base, out)) {
    throw core::Error("mat train --merge: --out " + out.string() +
                      " is the base folder; write the merged model to a new folder");
  }
  const CheckpointFormat format = format_of(base);
  engine::Qwen2VLModel model = engine::load_qwen2vl_model(base, {format.dtype, torch::kCPU});
  engine::apply_peft_adapter(*model, "merge", lora);
  engine::set_active_adapter(*model, "merge");
  engine::merge_active_adapter(*model);

  fs::create_directories(out);
  std::vector<torch::Tensor> keep;  // the bytes TensorRef borrows
  std::vector<engine::TensorRef> refs;
  const auto& vision = model->config().vision;
  for (const auto& item : model->named_parameters(true)) {
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
  engine::write_safetensors(out / "model.safetensors", refs, {{"format", "pt"}});
  for (const auto& entry : fs::directory_iterator(base)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() == ".safetensors" ||
        name == "model.safetensors.index.json") {
      continue;
    }
    fs::copy_file(entry.path(), out / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace mat::train

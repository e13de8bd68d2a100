#include "mat/train/merge.h"

#include <torch/torch.h>

#include "mat/core/error.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/train/model_writer.h"

namespace mat::train {

namespace fs = std::filesystem;

void write_merged_model(const fs::path& base, const fs::path& lora, const fs::path& out) {
  if (fs::exists(out) && fs::exists(base) && fs::equivalent(base, out)) {
    throw core::Error("mat train --merge: --out " + out.string() +
                      " is the base folder; write the merged model to a new folder");
  }
  const CheckpointFormat format = checkpoint_format(base);
  engine::Qwen2VLModel model = engine::load_qwen2vl_model(base, {format.dtype, torch::kCPU});
  engine::apply_peft_adapter(*model, "merge", lora);
  engine::set_active_adapter(*model, "merge");
  engine::merge_active_adapter(*model);

  fs::create_directories(out);
  write_model_weights(*model, out / "model.safetensors", format);
  copy_model_files(base, out);
}

}  // namespace mat::train

#include "mat/train/tensor_file.h"

#include <torch/torch.h>

#include <vector>

#include "mat/engine/safetensors.h"

namespace mat::train {

void write_tensor_file(const std::filesystem::path& path,
                       const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;  // the bytes TensorRef borrows
  std::vector<engine::TensorRef> refs;
  for (const auto& [name, tensor] : tensors) {
    keep.push_back(tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous());
    const torch::Tensor& t = keep.back();
    refs.push_back({name,
                    engine::DType::kF32,
                    std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end()),
                    {static_cast<const std::byte*>(t.data_ptr()), t.nbytes()}});
  }
  engine::write_safetensors(path, refs, metadata);
}

std::map<std::string, torch::Tensor> read_tensor_file(const std::filesystem::path& path) {
  const engine::SafetensorsFile file = engine::SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> out;
  for (const engine::TensorInfo& info : file.tensors()) {
    std::vector<float> values = file.to_f32(info.name);
    out[info.name] = torch::from_blob(values.data(), info.shape, torch::kFloat32).clone();
  }
  return out;
}

}  // namespace mat::train

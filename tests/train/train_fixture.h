// The golden training fixture (tests/fixtures/golden/train/, made by
// tools/golden/train_fixtures.py) as mat's types: the sample and the fixture model.
#pragma once

#include <torch/torch.h>

#include "engine/golden.h"
#include "mat/engine/qwen2vl_model.h"
#include "mat/engine/safetensors.h"
#include "mat/train/sample.h"

namespace mat::train::testing {

inline std::filesystem::path train_golden_dir() {
  return engine::testing::golden_dir() / "train";
}
inline std::filesystem::path fixture_model_dir() {
  return engine::testing::golden_dir() / "model";
}

// The sample of sample.json with its image (pixel values as the reference processor made them).
inline Sample golden_sample() {
  const core::Json json = core::read_json_file(train_golden_dir() / "sample.json");
  Sample s;
  s.id = "golden";
  s.ids = json.at("ids").get<std::vector<std::int32_t>>();
  for (int t : json.at("is_target").get<std::vector<int>>())
    s.is_target.push_back(static_cast<std::uint8_t>(t));
  const auto file = engine::SafetensorsFile::open(train_golden_dir() / "image.safetensors");
  const std::vector<std::int64_t> grid = file.to_i64("image_grid_thw");
  engine::ProcessedImage image;
  image.pixel_values = file.to_f32("pixel_values");
  image.grid_t = grid[0];
  image.grid_h = grid[1];
  image.grid_w = grid[2];
  image.patch_dim = file.at("pixel_values").shape[1];
  s.images.push_back(std::move(image));
  return s;
}

inline engine::Qwen2VLModel fixture_model(torch::Dtype dtype = torch::kFloat32) {
  return engine::load_qwen2vl_model(fixture_model_dir(), {dtype, torch::kCPU});
}

}  // namespace mat::train::testing

// Qwen2-VL's 3D rotary positions (M-RoPE): text tokens advance all three axes together; the tokens
// of an image share the temporal position where the image starts and spread over height and width
// by their place in the merged grid; the text after an image resumes past the image's largest
// axis.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mat::engine {

struct GridThw {
  std::int64_t t = 1;
  std::int64_t h = 0;  // in patches, before merging
  std::int64_t w = 0;
};

struct MropePositions {
  // [3][n]: temporal, height, width position of each token.
  std::vector<std::int64_t> temporal;
  std::vector<std::int64_t> height;
  std::vector<std::int64_t> width;
  // Position of the next token minus its index: generated tokens take index + rope_delta on
  // every axis.
  std::int64_t rope_delta = 0;
};

// Positions for `ids`, in which each image appears as a run of grid.t*grid.h*grid.w/merge^2
// `image_token_id` tokens, images in the order of `grids`. Throws core::Error when the runs do
// not match the grids.
MropePositions mrope_positions(std::span<const std::int32_t> ids, std::int32_t image_token_id,
                               const std::vector<GridThw>& grids, int spatial_merge_size);

}  // namespace mat::engine

#include "mat/engine/mrope.h"

#include <algorithm>
#include <string>

#include "mat/core/error.h"

namespace mat::engine {

MropePositions mrope_positions(std::span<const std::int32_t> ids, std::int32_t image_token_id,
                               const std::vector<GridThw>& grids, int spatial_merge_size) {
  MropePositions out;
  out.temporal.reserve(ids.size());
  out.height.reserve(ids.size());
  out.width.reserve(ids.size());
  const std::int64_t merge = spatial_merge_size;
  std::int64_t next = 0;  // position of the next text token
  std::size_t image = 0;
  std::size_t i = 0;
  while (i < ids.size()) {
    if (ids[i] != image_token_id) {
      out.temporal.push_back(next);
      out.height.push_back(next);
      out.width.push_back(next);
      ++next;
      ++i;
      continue;
    }
    if (image >= grids.size()) {
      throw core::Error("the prompt has more image tokens than the " +
                        std::to_string(grids.size()) + " image grid(s) given");
    }
    const GridThw& g = grids[image];
    const std::int64_t gt = g.t;
    const std::int64_t gh = g.h / merge;
    const std::int64_t gw = g.w / merge;
    const std::int64_t count = gt * gh * gw;
    std::size_t run = 0;
    while (i + run < ids.size() && ids[i + run] == image_token_id &&
           run < static_cast<std::size_t>(count))
      ++run;
    if (static_cast<std::int64_t>(run) != count) {
      throw core::Error("image " + std::to_string(image + 1) + " has " + std::to_string(run) +
                        " placeholder tokens in the prompt but its grid needs " +
                        std::to_string(count));
    }
    for (std::int64_t t = 0; t < gt; ++t) {
      for (std::int64_t y = 0; y < gh; ++y) {
        for (std::int64_t x = 0; x < gw; ++x) {
          out.temporal.push_back(next + t);
          out.height.push_back(next + y);
          out.width.push_back(next + x);
        }
      }
    }
    // The text after an image resumes past its larger merged side (as the reference does).
    next += std::max(gh, gw);
    i += run;
    ++image;
  }
  if (image != grids.size()) {
    throw core::Error("the prompt holds " + std::to_string(image) + " image(s) but " +
                      std::to_string(grids.size()) + " grid(s) were given");
  }
  out.rope_delta = next - static_cast<std::int64_t>(ids.size());
  return out;
}

}  // namespace mat::engine

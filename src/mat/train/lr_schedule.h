// The learning rate per optimizer step: linear warmup from 0, then cosine decay to 0, as
// transformers' get_cosine_schedule_with_warmup (step 0 is the first update).
#pragma once

#include <cstdint>

namespace mat::train {

struct LrSchedule {
  double peak = 1e-5;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;

  // The rate of update `step` (0-based).
  double at(std::int64_t step) const;
};

}  // namespace mat::train

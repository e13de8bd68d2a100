#include "mat/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace mat::train {

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) {
    return peak * static_cast<double>(step) /
           static_cast<double>(std::max<std::int64_t>(1, warmup_steps));
  }
  const double progress =
      static_cast<double>(step - warmup_steps) /
      static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps));
  return peak * std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
}

}  // namespace mat::train

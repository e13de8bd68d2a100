// The foreground loop of the commands that serve until Ctrl-C or SIGTERM (`mat serve`,
// `mat teacher serve`).
#pragma once

#include <functional>

namespace mat::cli {

// Runs `serve` (which blocks) until an interrupt is requested, then calls `stop` (which must
// make `serve` return). Install the interrupt handlers first.
void serve_until_interrupted(const std::function<void()>& serve, const std::function<void()>& stop);

}  // namespace mat::cli

// Keeps freed memory in the process's heap for reuse instead of handing it back to the kernel.
//
// Training allocates and frees the same large tensors at every step (the attention scores of a
// 2.5K-token sample are ~100 MB per layer). glibc serves blocks above its mmap threshold (at most
// 32 MB) with fresh mappings and unmaps them at free, so every step faults all those pages in
// again: measured on `mat train` with a 5 M-parameter model, half the CPU time was the kernel
// zeroing pages. After this call such blocks come from the heap and stay there once freed; the
// process's footprint stays at its peak instead.
#pragma once

namespace mat::core {

// Process-wide; call once, early, in commands that run tensor-heavy loops (training).
void keep_freed_memory_for_reuse();

}  // namespace mat::core

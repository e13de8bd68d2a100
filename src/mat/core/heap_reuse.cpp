#include "mat/core/heap_reuse.h"

#include <malloc.h>

namespace mat::core {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_MAX, 0);  // large blocks from the heap too, never from their own mapping
  // Never give the top of the heap back (trim), and grow it by 1 GiB at a time, so that freed
  // blocks are reused rather than faulted in again.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 1 << 30);
}

}  // namespace mat::core

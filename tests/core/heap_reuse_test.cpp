// keep_freed_memory_for_reuse(): a large freed block stays in the heap, ready for the next
// allocation, instead of being unmapped (glibc's default above its mmap threshold).
#include "mat/core/heap_reuse.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace mat::core {
namespace {

TEST(HeapReuse, AFreedLargeBlockStaysInTheHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces malloc: there is no glibc heap to observe";
#endif
  keep_freed_memory_for_reuse();
  constexpr std::size_t kBlock = std::size_t{96} << 20;  // far above any mmap threshold
  void* block = std::malloc(kBlock);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_EQ(mallinfo2().hblkhd, 0u);  // not a mapping of its own
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, kBlock);  // kept, free for reuse
}

}  // namespace
}  // namespace mat::core

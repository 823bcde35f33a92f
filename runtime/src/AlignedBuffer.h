// AlignedBuffer.h: an owned, zero-initialised block of memory aligned to
// SEQRT_ALIGNMENT, for packed weights and workspaces. Allocated with
// posix_memalign, whose failure is a return value: a huge size asked for by
// the caller is std::bad_alloc (SEQRT_ERR_OUT_OF_MEMORY) even under a
// sanitizer, whose operator new aborts instead of throwing.
//
// A large buffer (kHugeMin and up) is aligned to a 2 MB huge page and,
// on Linux, advised MADV_HUGEPAGE before it is first touched: the
// weights of a batch-1 MLP are streamed from memory on every call, and
// with 4 KB pages each stream needs a TLB refill every 4 KB (hundreds of
// MB of weights are far past the TLB's reach). Transparent huge pages
// set to "madvise" (a common default) back such a buffer with huge pages
// only when asked; the advice is a hint, its failure harmless.
#pragma once

#include "seqrt.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace seq::rt {

class AlignedBuffer {
public:
  AlignedBuffer() = default;

  // Never empty, so that data() is never NULL, even for zero bytes.
  // Throws std::bad_alloc.
  explicit AlignedBuffer(std::size_t bytes) : data_(allocate(bytes)), size_(bytes) {
    std::memset(data_.get(), 0, bytes);
  }

  std::byte *data() const { return data_.get(); }
  std::size_t size() const { return size_; }

private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  static constexpr std::size_t kHugeMin = std::size_t{8} << 20;

  static std::byte *allocate(std::size_t bytes) {
    bool huge = bytes >= kHugeMin;
    std::size_t alignment = huge ? kHugePage : SEQRT_ALIGNMENT;
    void *pointer = nullptr;
    if (posix_memalign(&pointer, alignment, bytes == 0 ? 1 : bytes) != 0)
      throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Only the whole huge pages inside the buffer: its tail may share a
    // page with other allocations.
    if (huge)
      (void)madvise(pointer, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
    return static_cast<std::byte *>(pointer);
  }

  struct Free {
    void operator()(std::byte *pointer) const { std::free(pointer); }
  };

  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

} // namespace seq::rt

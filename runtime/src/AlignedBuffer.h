// AlignedBuffer.h: an owned, zero-initialised block of memory aligned to
// SEQRT_ALIGNMENT, for packed weights and workspaces. Allocated with
// posix_memalign, whose failure is a return value: a huge size asked for by
// the caller is std::bad_alloc (SEQRT_ERR_OUT_OF_MEMORY) even under a
// sanitizer, whose operator new aborts instead of throwing.
#pragma once

#include "seqrt.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

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
  static std::byte *allocate(std::size_t bytes) {
    void *pointer = nullptr;
    if (posix_memalign(&pointer, SEQRT_ALIGNMENT, bytes == 0 ? 1 : bytes) != 0)
      throw std::bad_alloc();
    return static_cast<std::byte *>(pointer);
  }

  struct Free {
    void operator()(std::byte *pointer) const { std::free(pointer); }
  };

  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

} // namespace seq::rt

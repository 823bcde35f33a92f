// AlignedBuffer.h: an owned, zero-initialised block of memory aligned to
// SEQRT_ALIGNMENT, for packed weights and workspaces.
#pragma once

#include "seqrt.h"

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

namespace seq::rt {

class AlignedBuffer {
public:
  AlignedBuffer() = default;

  // Never empty, so that data() is never NULL, even for zero bytes.
  // Throws std::bad_alloc.
  explicit AlignedBuffer(std::size_t bytes)
      : data_(static_cast<std::byte *>(
            ::operator new(bytes == 0 ? 1 : bytes, kAlignment))),
        size_(bytes) {
    std::memset(data_.get(), 0, bytes);
  }

  std::byte *data() const { return data_.get(); }
  std::size_t size() const { return size_; }

private:
  static constexpr std::align_val_t kAlignment{SEQRT_ALIGNMENT};

  struct Free {
    void operator()(std::byte *pointer) const {
      ::operator delete(pointer, kAlignment);
    }
  };

  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

} // namespace seq::rt

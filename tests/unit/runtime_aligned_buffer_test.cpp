// AlignedBuffer: zeroed, aligned to SEQRT_ALIGNMENT; from kHugeMin (8 MB)
// on, aligned to a 2 MB huge page (and advised MADV_HUGEPAGE, a hint that
// cannot be observed reliably here), at sizes one short of, at and one
// past the threshold, and not a multiple of the huge page.
#include "AlignedBuffer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using seq::rt::AlignedBuffer;

bool allZero(const AlignedBuffer &b) {
  for (std::size_t i = 0; i < b.size(); ++i)
    if (b.data()[i] != std::byte{0})
      return false;
  return true;
}

TEST(RuntimeAlignedBuffer, ZeroedAndAlignedAtEverySize) {
  constexpr std::size_t kMB = std::size_t{1} << 20;
  for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{100}, 8 * kMB - 1, 8 * kMB, 8 * kMB + 1,
                            21 * kMB + 12345}) {
    AlignedBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr) << bytes;
    EXPECT_EQ(b.size(), bytes);
    auto address = reinterpret_cast<std::uintptr_t>(b.data());
    EXPECT_EQ(address % SEQRT_ALIGNMENT, 0u) << bytes;
    if (bytes >= 8 * kMB) {
      EXPECT_EQ(address % (2 * kMB), 0u) << bytes;
    }
    EXPECT_TRUE(allZero(b)) << bytes;
    if (bytes > 0) { // writable to the last byte
      b.data()[0] = std::byte{1};
      b.data()[bytes - 1] = std::byte{2};
      EXPECT_EQ(b.data()[bytes - 1], std::byte{2});
    }
  }
}

TEST(RuntimeAlignedBuffer, MovesKeepTheMemory) {
  AlignedBuffer a(9u << 20);
  std::byte *data = a.data();
  AlignedBuffer b = std::move(a);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.size(), std::size_t{9} << 20);
}

} // namespace

// Context.h: the seqrt_context handle, a thread pool and a workspace that
// one thread at a time uses for forward calls.
#pragma once

#include "AlignedBuffer.h"
#include "ThreadPool.h"
#include "seqrt.h"

#include <cstdint>

struct seqrt_context {
  // "seqrtCv2" while the context lives (see seqrt_weights::kMagic).
  static constexpr std::uint64_t kMagic = 0x3276437472716573ull;

  explicit seqrt_context(int threads, std::size_t workspaceBytes)
      : pool(threads), workspace(workspaceBytes) {}
  ~seqrt_context() { *static_cast<volatile std::uint64_t *>(&magic) = 0; }

  std::uint64_t magic = kMagic; // first
  seq::rt::ThreadPool pool;
  seq::rt::AlignedBuffer workspace;
};

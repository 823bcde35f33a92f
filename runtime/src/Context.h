// Context.h: the seqrt_context handle, a thread pool and a workspace that
// one thread at a time uses for forward calls.
#pragma once

#include "AlignedBuffer.h"
#include "ParallelChoice.h"
#include "ThreadPool.h"
#include "seqrt.h"

#include <chrono>
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

  // Whether forward calls use the pool (ParallelChoice.h), and the call
  // under way: its model (null between calls, and on one thread), batch,
  // way, and when its first loop began (timed set then).
  seq::rt::ParallelChoice choice;
  const void *forwardModel = nullptr;
  std::int64_t forwardBatch = 0;
  seq::rt::ParallelChoice::Way forwardWay = seq::rt::ParallelChoice::Way::Pool;
  bool timed = false;
  std::chrono::steady_clock::time_point forwardStart;
};

namespace seq::rt {

// A forward call of `model` at `batch` begins on ctx (seqrt_forward_begin):
// whether its loops use the pool (ParallelChoice); its clock starts with
// its first loop, and seqrt_forward_end records it. A null model: no call
// follows (batch 0), or none to time.
void beginForward(seqrt_context &ctx, const void *model, std::int64_t batch);

} // namespace seq::rt

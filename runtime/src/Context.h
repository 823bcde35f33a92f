// Context.h: the seqrt_context handle, a thread pool and a workspace that
// one thread at a time uses for forward calls.
#pragma once

#include "AlignedBuffer.h"
#include "ThreadPool.h"
#include "seqrt.h"

struct seqrt_context {
  explicit seqrt_context(int threads, std::size_t workspaceBytes)
      : pool(threads), workspace(workspaceBytes) {}

  seq::rt::ThreadPool pool;
  seq::rt::AlignedBuffer workspace;
};

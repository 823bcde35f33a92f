// Context.cpp: seqrt_context, a thread pool and a workspace that one
// thread at a time uses for forward calls.
#include "Context.h"

#include "Status.h"

#include <algorithm>
#include <string>
#include <system_error>
#include <thread>

namespace {

// More threads than this is a mistake, not a machine.
constexpr int kMaxThreads = 4096;

int resolveThreadCount(int threads) {
  using seq::rt::Error;
  if (threads < 0 || threads > kMaxThreads)
    throw Error(SEQRT_ERR_ARGUMENT,
                "thread count " + std::to_string(threads) +
                    " is outside [0, " + std::to_string(kMaxThreads) + "]");
  if (threads > 0)
    return threads;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(std::min<unsigned>(cores, kMaxThreads));
}

} // namespace

using namespace seq::rt;

extern "C" seqrt_status seqrt_context_new(int threads, size_t workspace_bytes,
                                          seqrt_context **out) {
  return guarded([&] {
    requireArgument(out, "out");
    *out = nullptr;
    int count = resolveThreadCount(threads);
    try {
      *out = new seqrt_context(count, workspace_bytes);
    } catch (const std::system_error &error) {
      throw Error(SEQRT_ERR_OUT_OF_MEMORY,
                  std::string("cannot start a worker thread: ") + error.what());
    }
    return SEQRT_OK;
  });
}

extern "C" void seqrt_context_free(seqrt_context *ctx) { delete ctx; }

extern "C" seqrt_status seqrt_context_reserve(seqrt_context *ctx,
                                              size_t bytes) {
  return guarded([&] {
    requireArgument(ctx, "ctx");
    if (bytes > ctx->workspace.size())
      ctx->workspace = AlignedBuffer(bytes);
    return SEQRT_OK;
  });
}

extern "C" int seqrt_context_threads(const seqrt_context *ctx) {
  return ctx ? ctx->pool.threads() : 1;
}

extern "C" void *seqrt_context_workspace(seqrt_context *ctx, size_t bytes) {
  if (ctx == nullptr || bytes > ctx->workspace.size())
    return nullptr;
  return ctx->workspace.data();
}

extern "C" void seqrt_parallel_for(seqrt_context *ctx, int64_t n,
                                   seqrt_task_fn fn, void *arg) {
  if (fn == nullptr || n <= 0)
    return;
  if (ctx == nullptr) {
    fn(arg, 0, n);
    return;
  }
  // The forward call's first loop starts its clock (on the calling
  // thread: a nested call runs inside one that has, and only reads).
  if (ctx->forwardModel != nullptr && !ctx->timed) {
    ctx->timed = true;
    ctx->forwardStart = std::chrono::steady_clock::now();
  }
  if (ctx->forwardWay == ParallelChoice::Way::Alone)
    fn(arg, 0, n);
  else
    ctx->pool.parallelFor(n, fn, arg);
}

namespace seq::rt {

void beginForward(seqrt_context &ctx, const void *model, int64_t batch) {
  ctx.timed = false;
  if (model == nullptr || ctx.pool.threads() < 2) {
    ctx.forwardModel = nullptr;
    ctx.forwardWay = ParallelChoice::Way::Pool;
    return;
  }
  ctx.forwardModel = model;
  ctx.forwardBatch = batch;
  ctx.forwardWay = ctx.choice.choose(model, batch);
}

} // namespace seq::rt

extern "C" void seqrt_forward_end(seqrt_context *ctx) {
  if (ctx == nullptr || ctx->magic != seqrt_context::kMagic || ctx->forwardModel == nullptr)
    return;
  if (ctx->timed) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                   ctx->forwardStart);
    ctx->choice.record(ctx->forwardModel, ctx->forwardBatch, ctx->forwardWay, ns.count());
  }
  ctx->forwardModel = nullptr;
  ctx->forwardWay = ParallelChoice::Way::Pool;
  ctx->timed = false;
}

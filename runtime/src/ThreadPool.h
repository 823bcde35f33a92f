// ThreadPool.h: a persistent pool for the parallel loops of a forward
// pass. `threads - 1` workers plus the calling thread share each loop;
// between loops, workers spin briefly, then sleep on a futex
// (std::atomic::wait), so that back-to-back loops start in microseconds
// and an idle pool costs nothing.
#pragma once

#include "seqrt.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

namespace seq::rt {

class ThreadPool {
public:
  // Starts `threads - 1` workers (threads >= 1). Throws std::system_error
  // when a thread cannot be started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(arg, begin, end) over contiguous chunks covering [0, n) on
  // the threads of the pool, the caller included; returns when all are
  // done. Thread k (the caller is 0) first runs the chunks of its own
  // share, the k-th of T contiguous parts of [0, n), in order, and only
  // then takes chunks from the end of another's: two loops over the same
  // n give each thread the same part of [0, n) when the threads keep
  // pace, so what one layer's task wrote is still in the cache of the
  // core whose task of the next layer reads it. A call made while
  // another runs on this pool (from a task, or another thread) runs
  // inline instead.
  void parallelFor(std::int64_t n, seqrt_task_fn fn, void *arg);

private:
  struct Loop {
    seqrt_task_fn fn = nullptr;
    void *arg = nullptr;
    std::int64_t n = 0;
    std::int64_t chunks = 0;
  };

  // A thread's share of the current loop's chunks: the loop's generation
  // (high 32 bits), the next chunk its owner runs (next 16 bits) and the
  // end of the chunks not yet taken (low 16 bits). The owner takes from
  // the front, the others from the back, both by compare-and-swap, and
  // only for the generation they woke for.
  struct alignas(64) Share {
    std::atomic<std::uint64_t> word{0};
  };

  void workerMain(int self);
  // Claims and runs chunks of loop `generation` until none is left:
  // thread `self`'s share first, then the others'.
  void runChunks(std::uint32_t generation, int self);
  std::optional<std::int64_t> claimChunk(std::uint32_t generation, int self);
  void stopWorkers();

  // One share per thread, thread k's at k.
  std::vector<Share> shares_;
  // Chunks of the current loop not yet finished; the caller waits for 0.
  alignas(64) std::atomic<std::uint32_t> pendingChunks_{0};
  // The current loop's generation; sleeping workers wait for it to change.
  // In its cache line too: whether a loop runs, whether the pool stops, and
  // the loop (written by the caller before it publishes the loop in
  // shares_; read only by a thread that has claimed one of its chunks), so
  // that a woken worker's first miss brings all it reads but its share:
  // each miss is a round trip to the caller's core (50 ns, or 300 where
  // the vCPUs share no L3). With the share's read-modify-write, a loop of
  // two 0.5 us tasks took 825 -> 780 ns, 1145 -> 926 on two dies
  // (awaitChange's polling after every pause then made it 566).
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  Loop loop_;
  static_assert(sizeof(Loop) <= 64 - 8, "loop_ shares generation_'s cache line");
  std::vector<std::thread> workers_;
};

} // namespace seq::rt

// ThreadPool.cpp: dispatch, chunking and the spin-then-sleep waits.
//
// Protocol for one loop: the caller publishes loop_, resets nextChunk_ and
// sets busyWorkers_ to the number of workers, then bumps generation_.
// Each worker, seeing the bump, claims chunks with an atomic counter until
// none is left, then decrements busyWorkers_. The caller claims chunks too
// and returns once busyWorkers_ is 0: then every chunk has run and no
// worker reads loop_ any more, so the next loop may overwrite it.
#include "ThreadPool.h"

#include <algorithm>
#include <chrono>

namespace seq::rt {
namespace {

// About this many chunks per thread balance uneven work without making
// chunks too small.
constexpr std::int64_t kChunksPerThread = 4;
// How long a waiting thread spins before it sleeps: enough to bridge the
// gap between two loops of a forward pass.
constexpr std::chrono::microseconds kSpinTime{10};

void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns the value of `word` once it differs from `old`: spins for
// kSpinTime, then sleeps until notified.
std::uint32_t awaitChange(const std::atomic<std::uint32_t> &word,
                          std::uint32_t old) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  std::uint32_t value;
  while ((value = word.load(std::memory_order_acquire)) == old) {
    if (std::chrono::steady_clock::now() < deadline)
      cpuRelax();
    else
      word.wait(old, std::memory_order_acquire);
  }
  return value;
}

// Chunk `index` of [0, n) split into `chunks` parts whose sizes differ by
// at most one.
std::pair<std::int64_t, std::int64_t> chunkRange(std::int64_t n,
                                                 std::int64_t chunks,
                                                 std::int64_t index) {
  std::int64_t base = n / chunks, extra = n % chunks;
  std::int64_t begin = index * base + std::min(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

} // namespace

ThreadPool::ThreadPool(int threads) {
  workers_.reserve(static_cast<std::size_t>(std::max(threads - 1, 0)));
  try {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { workerMain(); });
  } catch (...) {
    stopWorkers();
    throw;
  }
}

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  stopping_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
  workers_.clear();
}

void ThreadPool::workerMain() {
  // Workers start before the first loop, at generation 0.
  std::uint32_t seen = 0;
  for (;;) {
    seen = awaitChange(generation_, seen);
    if (stopping_.load(std::memory_order_relaxed))
      return;
    runChunks();
    if (busyWorkers_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      busyWorkers_.notify_all();
  }
}

void ThreadPool::runChunks() {
  for (;;) {
    std::int64_t chunk = nextChunk_.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= loop_.chunks)
      return;
    auto [begin, end] = chunkRange(loop_.n, loop_.chunks, chunk);
    loop_.fn(loop_.arg, begin, end);
  }
}

void ThreadPool::parallelFor(std::int64_t n, seqrt_task_fn fn, void *arg) {
  if (n <= 0)
    return;
  std::int64_t chunks = std::min<std::int64_t>(n, threads() * kChunksPerThread);
  if (workers_.empty() || chunks == 1 ||
      running_.exchange(true, std::memory_order_acquire)) {
    fn(arg, 0, n);
    return;
  }
  loop_ = {fn, arg, n, chunks};
  nextChunk_.store(0, std::memory_order_relaxed);
  busyWorkers_.store(static_cast<std::uint32_t>(workers_.size()),
                     std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();

  runChunks();
  for (std::uint32_t busy = busyWorkers_.load(std::memory_order_acquire);
       busy != 0;)
    busy = awaitChange(busyWorkers_, busy);
  running_.store(false, std::memory_order_release);
}

} // namespace seq::rt

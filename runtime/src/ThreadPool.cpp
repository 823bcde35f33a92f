// ThreadPool.cpp: dispatch, chunking and the spin-then-sleep waits.
//
// Protocol for one loop: the caller writes loop_, sets pendingChunks_,
// publishes each thread's share of the chunks in shares_ (release) and
// bumps generation_ to wake the workers. Every thread, the caller
// included, claims chunks by compare-and-swap on a share, its own from the
// front and then the others' from the back, which succeeds only for the
// generation it woke for, runs them and counts them off pendingChunks_. The caller
// returns when that reaches 0. A worker that wakes late finds the loop
// over and claims nothing, so it neither delays the caller nor reads a
// loop_ that the next loop is rewriting.
#include "ThreadPool.h"

#include <algorithm>
#include <chrono>

namespace seq::rt {
namespace {

// About this many chunks per thread balance uneven work without making
// chunks too small.
constexpr std::int64_t kChunksPerThread = 4;
// The chunk count must fit the 16 bits of a share's positions.
constexpr std::int64_t kMaxChunks = 0xFFFF;
// How long a waiting thread spins before it sleeps on the futex. Waking a
// sleeping thread costs tens of microseconds on a virtual machine (the
// host must reschedule a halted vCPU), as much as a whole small loop: a
// worker spins across the gaps between the loops of a forward pass, and
// the caller across the imbalance of a loop's last chunks (a chunk of a
// batch-64 LeNet layer is 20-50 us), so neither sleeps inside a forward
// call. An idle pool still costs nothing after kSpinTime.
constexpr std::chrono::microseconds kSpinTime{200};
// While spinning, yield the CPU this often: when the machine has more
// runnable threads than cores, the thread we wait for may need this one.
constexpr std::chrono::microseconds kYieldEvery{20};

constexpr std::uint64_t shareWord(std::uint32_t generation, std::uint64_t front,
                                  std::uint64_t back) {
  return std::uint64_t{generation} << 32 | front << 16 | back;
}

void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns the value of `word` once it differs from `old`: spins for
// kSpinTime (yielding every kYieldEvery), then sleeps until notified.
std::uint32_t awaitChange(const std::atomic<std::uint32_t> &word,
                          std::uint32_t old) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now(), yieldAt = start + kYieldEvery;
  std::uint32_t value;
  while ((value = word.load(std::memory_order_acquire)) == old) {
    Clock::time_point now = Clock::now();
    if (now - start >= kSpinTime) {
      word.wait(old, std::memory_order_acquire);
    } else if (now >= yieldAt) {
      std::this_thread::yield();
      yieldAt = now + kYieldEvery;
    } else {
      // 8 pauses between clock reads, the word read after each one (read
      // only after all 8, a loop of two 0.5 us tasks took 783 ns, not 566)
      for (int i = 0; i < 8 && word.load(std::memory_order_relaxed) == old; ++i)
        cpuRelax();
    }
  }
  return value;
}

// Chunk `index` of [0, n) split into `chunks` parts whose sizes differ by
// at most one, the longer ones spread evenly: any `k` consecutive chunks
// hold k * n / chunks items, rounded, so each thread's share of the
// chunks (consecutive too) holds its share of the items. (Putting the
// longer chunks first gave thread 0 of 2 eight of a 12-panel convolution's
// tasks and thread 1 four, and a split that no longer matched the next
// layer's: the other core's data, or steals.)
std::pair<std::int64_t, std::int64_t> chunkRange(std::int64_t n,
                                                 std::int64_t chunks,
                                                 std::int64_t index) {
  std::int64_t base = n / chunks, extra = n % chunks; // extra * index fits
  return {index * base + extra * index / chunks,
          (index + 1) * base + extra * (index + 1) / chunks};
}

} // namespace

ThreadPool::ThreadPool(int threads)
    : shares_(static_cast<std::size_t>(std::max(threads, 1))) {
  workers_.reserve(static_cast<std::size_t>(std::max(threads - 1, 0)));
  try {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this, i] { workerMain(i); });
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

void ThreadPool::workerMain(int self) {
  // Workers start before the first loop, at generation 0.
  std::uint32_t seen = 0;
  for (;;) {
    seen = awaitChange(generation_, seen);
    if (stopping_.load(std::memory_order_relaxed))
      return;
    runChunks(seen, self);
  }
}

std::optional<std::int64_t> ThreadPool::claimChunk(std::uint32_t generation, int self) {
  const int threads = static_cast<int>(shares_.size());
  for (int i = 0; i < threads; ++i) {
    int k = (self + i) % threads;
    bool own = i == 0;
    std::atomic<std::uint64_t> &share = shares_[static_cast<std::size_t>(k)].word;
    // (a read-modify-write: the line comes exclusive, ready for the
    // compare-and-swap, not shared first and then taken again)
    std::uint64_t word = share.fetch_add(0, std::memory_order_acquire);
    for (;;) {
      std::uint64_t front = (word >> 16) & 0xFFFF, back = word & 0xFFFF;
      if (word >> 32 != generation || front >= back)
        break;
      std::uint64_t next = own ? shareWord(generation, front + 1, back)
                               : shareWord(generation, front, back - 1);
      if (share.compare_exchange_weak(word, next, std::memory_order_acquire))
        return static_cast<std::int64_t>(own ? front : back - 1);
    }
  }
  return std::nullopt;
}

void ThreadPool::runChunks(std::uint32_t generation, int self) {
  while (std::optional<std::int64_t> chunk = claimChunk(generation, self)) {
    auto [begin, end] = chunkRange(loop_.n, loop_.chunks, *chunk);
    loop_.fn(loop_.arg, begin, end);
    if (pendingChunks_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      pendingChunks_.notify_all();
  }
}

void ThreadPool::parallelFor(std::int64_t n, seqrt_task_fn fn, void *arg) {
  if (n <= 0)
    return;
  std::int64_t chunks =
      std::min({n, threads() * kChunksPerThread, kMaxChunks});
  if (workers_.empty() || chunks == 1 ||
      running_.exchange(true, std::memory_order_acquire)) {
    fn(arg, 0, n);
    return;
  }
  // Only this thread writes generation_ while the pool runs.
  std::uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  loop_ = {fn, arg, n, chunks};
  pendingChunks_.store(static_cast<std::uint32_t>(chunks),
                       std::memory_order_relaxed);
  const std::int64_t threads = static_cast<std::int64_t>(shares_.size());
  for (std::int64_t k = 0; k < threads; ++k) {
    auto [front, back] = chunkRange(chunks, threads, k);
    shares_[static_cast<std::size_t>(k)].word.store(
        shareWord(generation, static_cast<std::uint64_t>(front), static_cast<std::uint64_t>(back)),
        std::memory_order_release);
  }
  generation_.store(generation, std::memory_order_release);
  generation_.notify_all();

  runChunks(generation, 0);
  for (std::uint32_t pending = pendingChunks_.load(std::memory_order_acquire);
       pending != 0;)
    pending = awaitChange(pendingChunks_, pending);
  running_.store(false, std::memory_order_release);
}

} // namespace seq::rt

// Tests of contexts: thread counts, the workspace (size, alignment,
// growth), seqrt_parallel_for's coverage and chunking, from one context and
// from several at once, and seqrt_workspace_size.
#include "runtime_test_support.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <mutex>
#include <thread>

namespace {

using namespace seqrt_test;

struct ContextFree {
  void operator()(seqrt_context *ctx) const { seqrt_context_free(ctx); }
};
using ContextPtr = std::unique_ptr<seqrt_context, ContextFree>;

ContextPtr newContext(int threads, std::size_t workspace = 0) {
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(threads, workspace, &ctx), SEQRT_OK) << seqrt_last_error();
  return ContextPtr(ctx);
}

// Counts the visits of every index, and the chunks.
struct Coverage {
  explicit Coverage(std::int64_t n) : visits(static_cast<std::size_t>(n)) {}

  static void visit(void *arg, std::int64_t begin, std::int64_t end) {
    auto *self = static_cast<Coverage *>(arg);
    self->chunks.fetch_add(1);
    if (begin >= end || begin < 0 || end > static_cast<std::int64_t>(self->visits.size()))
      self->badChunks.fetch_add(1);
    for (std::int64_t i = std::max<std::int64_t>(begin, 0);
         i < std::min<std::int64_t>(end, self->visits.size()); ++i)
      self->visits[i].fetch_add(1, std::memory_order_relaxed);
  }

  bool eachVisitedOnce() const {
    for (const auto &count : visits)
      if (count.load() != 1)
        return false;
    return badChunks.load() == 0;
  }

  std::vector<std::atomic<int>> visits;
  std::atomic<int> chunks{0};
  std::atomic<int> badChunks{0};
};

void expectFullCoverage(seqrt_context *ctx, std::int64_t n) {
  Coverage coverage(n);
  seqrt_parallel_for(ctx, n, Coverage::visit, &coverage);
  ASSERT_TRUE(coverage.eachVisitedOnce()) << "n = " << n;
}

// The L2 that image-by-image forward functions size their groups to: the
// level-2 cache sysfs lists for CPU 0 where it lists one, read once.
TEST(RuntimeContext, L2CacheBytesIsTheMachinesLevel2Cache) {
  const std::int64_t bytes = seqrt_l2_cache_bytes();
  EXPECT_GE(bytes, 64 << 10);
  EXPECT_LE(bytes, std::int64_t(1) << 30);
  EXPECT_EQ(seqrt_l2_cache_bytes(), bytes);
  for (int index = 0; index < 16; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level(dir + "level"), type(dir + "type"), size(dir + "size");
    int l = 0;
    std::string t, s;
    if (!(level >> l) || !(type >> t) || !(size >> s))
      break;
    if (l != 2 || t == "Instruction")
      continue;
    std::int64_t listed = std::stoll(s) << (s.back() == 'K' ? 10 : s.back() == 'M' ? 20 : 0);
    EXPECT_EQ(bytes, listed) << dir << "size: " << s;
    break;
  }
}

TEST(RuntimeContext, ThreadCounts) {
  EXPECT_EQ(seqrt_context_threads(newContext(1).get()), 1);
  EXPECT_EQ(seqrt_context_threads(newContext(3).get()), 3);
  unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(seqrt_context_threads(newContext(0).get()), cores ? static_cast<int>(cores) : 1);
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(-1, 0, &ctx), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(seqrt_context_new(1 << 30, 0, &ctx), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr);
}

TEST(RuntimeContext, WorkspaceIsAlignedAndNeverAllocatedOnDemand) {
  ContextPtr ctx = newContext(2, 1000);
  void *workspace = seqrt_context_workspace(ctx.get(), 1000);
  ASSERT_NE(workspace, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(workspace) % SEQRT_ALIGNMENT, 0u);
  EXPECT_EQ(seqrt_context_workspace(ctx.get(), 0), workspace);
  EXPECT_EQ(seqrt_context_workspace(ctx.get(), 1001), nullptr);

  ASSERT_EQ(seqrt_context_reserve(ctx.get(), 5000), SEQRT_OK);
  void *grown = seqrt_context_workspace(ctx.get(), 5000);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(grown) % SEQRT_ALIGNMENT, 0u);
  std::memset(grown, 0xAB, 5000); // all of it is usable
  ASSERT_EQ(seqrt_context_reserve(ctx.get(), 10), SEQRT_OK); // never shrinks
  EXPECT_EQ(seqrt_context_workspace(ctx.get(), 5000), grown);

  ContextPtr empty = newContext(1, 0);
  EXPECT_NE(seqrt_context_workspace(empty.get(), 0), nullptr);
  EXPECT_EQ(seqrt_context_workspace(empty.get(), 1), nullptr);
  EXPECT_EQ(seqrt_context_workspace(nullptr, 0), nullptr);
}

TEST(RuntimeContext, HugeWorkspaceFailsCleanly) {
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(1, SIZE_MAX / 2, &ctx), SEQRT_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(ctx, nullptr);
  ContextPtr small = newContext(1, 64);
  EXPECT_EQ(seqrt_context_reserve(small.get(), SIZE_MAX / 2), SEQRT_ERR_OUT_OF_MEMORY);
  EXPECT_NE(seqrt_context_workspace(small.get(), 64), nullptr); // still intact
}

TEST(RuntimeContext, ParallelForVisitsEveryIndexOnce) {
  for (int threads : {1, 2, 3, 4, 8}) {
    ContextPtr ctx = newContext(threads);
    for (std::int64_t n : {1, 2, 3, 5, 7, 8, 31, 32, 33, 100, 1000, 4097})
      for (int repeat = 0; repeat < 20; ++repeat)
        expectFullCoverage(ctx.get(), n);
  }
}

TEST(RuntimeContext, ParallelForChunking) {
  ContextPtr ctx = newContext(4);
  Coverage big(1000);
  seqrt_parallel_for(ctx.get(), 1000, Coverage::visit, &big);
  EXPECT_EQ(big.chunks.load(), 16); // threads * 4
  Coverage small(5);
  seqrt_parallel_for(ctx.get(), 5, Coverage::visit, &small);
  EXPECT_EQ(small.chunks.load(), 5);
  Coverage one(1);
  seqrt_parallel_for(ctx.get(), 1, Coverage::visit, &one);
  EXPECT_EQ(one.chunks.load(), 1);
}

// The caller owns the first share of the chunks: it starts at index 0 and
// runs its share front to back; what it takes of another thread's share
// it takes from the back of that share. (Which chunks the worker gets depends on when
// it wakes; these orders do not.)
TEST(RuntimeContext, ParallelForCallerRunsItsShareFirstInOrder) {
  for (int threads : {2, 3, 4}) {
    ContextPtr ctx = newContext(threads);
    int callerRan = 0;
    for (int repeat = 0; repeat < 50; ++repeat) {
      struct Order {
        std::thread::id caller = std::this_thread::get_id();
        std::mutex mutex;
        std::vector<std::int64_t> callerBegins;
      } order;
      seqrt_parallel_for(ctx.get(), 1000, [](void *arg, std::int64_t begin, std::int64_t) {
        auto *o = static_cast<Order *>(arg);
        if (std::this_thread::get_id() != o->caller)
          return;
        std::lock_guard<std::mutex> lock(o->mutex);
        o->callerBegins.push_back(begin);
      }, &order);
      // threads * 4 chunks whose sizes differ by at most one; 4 a share
      const std::int64_t chunks = threads * 4, base = 1000 / chunks, extra = 1000 % chunks;
      auto chunkBegin = [&](std::int64_t i) { return i * base + extra * i / chunks; };
      auto shareOf = [&](std::int64_t begin) {
        std::int64_t i = 0;
        while (i < chunks && chunkBegin(i + 1) <= begin)
          ++i;
        return i / 4;
      };
      const std::int64_t shareEnd = chunkBegin(4);
      // (a caller held up long enough, as under ASan on a busy machine,
      // finds every chunk taken, its own share stolen from the back)
      if (order.callerBegins.empty())
        continue;
      ++callerRan;
      EXPECT_EQ(order.callerBegins.front(), 0);
      // (a worker done early may take the caller's last chunks from the
      // back, so the caller's own run can end before chunk 3; but once
      // it steals, its own share is empty)
      std::int64_t lastOwn = -1, lastStolen = 1000;
      bool stealing = false;
      for (std::int64_t begin : order.callerBegins) {
        if (begin < shareEnd) {
          EXPECT_FALSE(stealing) << "stole before finishing its own share";
          EXPECT_GT(begin, lastOwn) << "own share out of order";
          lastOwn = begin;
        } else {
          stealing = true;
          // from the back of each other share, one share after another
          if (shareOf(begin) == shareOf(lastStolen)) {
            EXPECT_LT(begin, lastStolen);
          }
          lastStolen = begin;
        }
      }
    }
    EXPECT_GT(callerRan, 0) << threads << " threads: the caller never ran a chunk in 50 loops";
  }
}

// Each thread's share of the chunks holds its share of the items, within
// one: 12 tasks on 2 threads are 6 and 6 (the longer chunks all first
// gave 8 and 4, so one core did twice the other's work or stole).
TEST(RuntimeContext, ParallelForSharesHoldEqualItems) {
  for (int threads : {2, 3, 4})
    for (std::int64_t n : {5, 12, 18, 30, 31, 1000}) {
      ContextPtr ctx = newContext(threads);
      struct Ranges {
        std::mutex mutex;
        std::vector<std::pair<std::int64_t, std::int64_t>> seen;
      } ranges;
      seqrt_parallel_for(ctx.get(), n, [](void *arg, std::int64_t begin, std::int64_t end) {
        auto *r = static_cast<Ranges *>(arg);
        std::lock_guard<std::mutex> lock(r->mutex);
        r->seen.emplace_back(begin, end);
      }, &ranges);
      std::sort(ranges.seen.begin(), ranges.seen.end());
      const std::int64_t chunks = std::min<std::int64_t>(n, threads * 4);
      ASSERT_EQ(std::int64_t(ranges.seen.size()), chunks) << n << " on " << threads;
      // the threads' shares of the chunks split the same way as the items
      auto shareOf = [&](std::int64_t chunk) {
        std::int64_t k = threads - 1;
        while (k * (chunks / threads) + chunks % threads * k / threads > chunk)
          --k;
        return k;
      };
      std::vector<std::int64_t> items(std::size_t(threads), 0);
      for (std::int64_t i = 0; i < chunks; ++i) {
        auto [begin, end] = ranges.seen[std::size_t(i)];
        ASSERT_EQ(begin, i == 0 ? 0 : ranges.seen[std::size_t(i - 1)].second);
        ASSERT_GE(end - begin, n / chunks);
        ASSERT_LE(end - begin, n / chunks + 1);
        items[std::size_t(shareOf(i))] += end - begin;
      }
      EXPECT_EQ(ranges.seen.back().second, n);
      auto [fewest, most] = std::minmax_element(items.begin(), items.end());
      EXPECT_LE(*most - *fewest, 1) << n << " items on " << threads << " threads";
    }
}

TEST(RuntimeContext, ParallelForWithNothingToDo) {
  ContextPtr ctx = newContext(3);
  int calls = 0;
  auto count = [](void *arg, std::int64_t, std::int64_t) { ++*static_cast<int *>(arg); };
  seqrt_parallel_for(ctx.get(), 0, count, &calls);
  seqrt_parallel_for(ctx.get(), -5, count, &calls);
  EXPECT_EQ(calls, 0);
  seqrt_parallel_for(nullptr, 10, count, &calls); // no context: inline
  EXPECT_EQ(calls, 1);
}

TEST(RuntimeContext, SingleThreadRunsInlineOnTheCaller) {
  ContextPtr ctx = newContext(1);
  struct Probe {
    std::thread::id caller = std::this_thread::get_id();
    bool sameThread = true;
    int calls = 0;
  } probe;
  seqrt_parallel_for(ctx.get(), 1000, [](void *arg, std::int64_t begin, std::int64_t end) {
    auto *p = static_cast<Probe *>(arg);
    p->sameThread &= p->caller == std::this_thread::get_id();
    p->calls += begin == 0 && end == 1000;
  }, &probe);
  EXPECT_TRUE(probe.sameThread);
  EXPECT_EQ(probe.calls, 1);
}

TEST(RuntimeContext, NestedParallelForRunsInline) {
  ContextPtr ctx = newContext(4);
  struct Outer {
    seqrt_context *ctx;
    Coverage inner{64 * 64};
  } outer{ctx.get()};
  seqrt_parallel_for(ctx.get(), 64, [](void *arg, std::int64_t begin, std::int64_t end) {
    auto *o = static_cast<Outer *>(arg);
    for (std::int64_t row = begin; row < end; ++row) {
      struct Row { Coverage *coverage; std::int64_t row; } r{&o->inner, row};
      seqrt_parallel_for(o->ctx, 64, [](void *a, std::int64_t b, std::int64_t e) {
        auto *rr = static_cast<Row *>(a);
        Coverage::visit(rr->coverage, rr->row * 64 + b, rr->row * 64 + e);
      }, &r);
    }
  }, &outer);
  EXPECT_TRUE(outer.inner.eachVisitedOnce());
}

TEST(RuntimeContext, SeveralContextsInParallelThreads) {
  std::atomic<int> failures{0};
  std::vector<std::thread> users;
  for (int user = 0; user < 4; ++user)
    users.emplace_back([&, user] {
      ContextPtr ctx = newContext(2 + user % 3);
      for (int repeat = 0; repeat < 200; ++repeat) {
        std::int64_t n = 1 + (repeat * 37 + user * 11) % 300;
        Coverage coverage(n);
        seqrt_parallel_for(ctx.get(), n, Coverage::visit, &coverage);
        if (!coverage.eachVisitedOnce())
          failures.fetch_add(1);
      }
    });
  for (std::thread &user : users)
    user.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(RuntimeContext, ManyQuickLoopsInARow) {
  ContextPtr ctx = newContext(4);
  std::vector<std::int64_t> sums(64, 0);
  for (int loop = 0; loop < 5000; ++loop)
    seqrt_parallel_for(ctx.get(), 64, [](void *arg, std::int64_t begin, std::int64_t end) {
      auto *s = static_cast<std::int64_t *>(arg);
      for (std::int64_t i = begin; i < end; ++i)
        s[i] += i;
    }, sums.data());
  for (std::int64_t i = 0; i < 64; ++i)
    ASSERT_EQ(sums[i], 5000 * i);
}

TEST(RuntimeContext, CreatingAndFreeingManyContexts) {
  for (int i = 0; i < 50; ++i) {
    ContextPtr ctx = newContext(1 + i % 4, 128);
    if (i % 2)
      expectFullCoverage(ctx.get(), 10);
  }
}

TEST(RuntimeContext, WorkspaceSize) {
  seqrt_model model{};
  model.workspace_fixed = 100;
  model.workspace_per_batch = 30;
  EXPECT_EQ(seqrt_workspace_size(&model, 0), 100);
  EXPECT_EQ(seqrt_workspace_size(&model, 4), 220);
  EXPECT_EQ(seqrt_workspace_size(&model, -1), -1);
  EXPECT_EQ(seqrt_workspace_size(nullptr, 1), -1);
  model.workspace_per_batch = INT64_MAX / 2;
  EXPECT_EQ(seqrt_workspace_size(&model, 3), -1);
  EXPECT_EQ(seqrt_workspace_size(&model, 2), -1); // fixed + (MAX-1) overflows
  model.workspace_fixed = 0;
  EXPECT_EQ(seqrt_workspace_size(&model, 2), INT64_MAX - 1);
}

} // namespace

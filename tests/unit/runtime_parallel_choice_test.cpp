// Tests of ParallelChoice, a context's choice between its thread pool and
// the calling thread for a model's forward calls: it follows whichever way
// has been faster, tries the other now and then (more rarely the slower it
// was), follows a change, never runs long calls alone, and keeps models and
// batches apart; and of the context's side: a call chosen to run alone runs
// each loop in one piece on the calling thread, and seqrt_forward_end
// records only calls that ran a loop.
#include "Context.h"
#include "ParallelChoice.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

namespace {

using seq::rt::ParallelChoice;
using Way = ParallelChoice::Way;

// Two models (only their addresses matter).
int kModelA = 1, kModelB = 2;

// Runs `calls` calls of (model, batch) that take poolNs with the pool and
// aloneNs alone; returns how many ran alone.
int simulate(ParallelChoice &choice, const void *model, std::int64_t batch, int calls, std::int64_t poolNs,
             std::int64_t aloneNs) {
  int alone = 0;
  for (int i = 0; i < calls; ++i) {
    Way way = choice.choose(model, batch);
    alone += way == Way::Alone;
    choice.record(model, batch, way, way == Way::Alone ? aloneNs : poolNs);
  }
  return alone;
}

TEST(ParallelChoice, RunsAloneWhenThatIsFaster) {
  ParallelChoice choice;
  // LeNet-5 at batch 1 on two cores that share no cache: 22.8 us with the
  // pool, 14.2 alone
  int alone = simulate(choice, &kModelA, 1, 1000, 22'800, 14'200);
  // all but the first 10 calls and the pool's trials (4 calls every 128 x
  // 1.6^4)
  EXPECT_GE(alone, 970);
  EXPECT_LT(alone, 1000);
}

TEST(ParallelChoice, KeepsThePoolWhenThatIsFaster) {
  ParallelChoice choice;
  // on two cores that share an L3: 11.3 us with the pool, 14.2 alone
  int alone = simulate(choice, &kModelA, 1, 1000, 11'300, 14'200);
  EXPECT_GE(alone, ParallelChoice::kTrialCalls); // tried
  EXPECT_LE(alone, 5 * ParallelChoice::kTrialCalls); // every 128 x 1.26^4 calls
}

TEST(ParallelChoice, TriesTheOtherWayMoreRarelyTheSlowerItWas) {
  ParallelChoice close, far;
  int closeTrials = simulate(close, &kModelA, 1, 4000, 100'000, 110'000);
  int farTrials = simulate(far, &kModelA, 1, 4000, 100'000, 300'000);
  EXPECT_GT(closeTrials, 2 * farTrials);
  EXPECT_GE(farTrials, 2);
}

TEST(ParallelChoice, FollowsAChangeOfPlacement) {
  ParallelChoice choice;
  simulate(choice, &kModelA, 1, 500, 22'800, 14'200); // alone is faster
  EXPECT_EQ(choice.choose(&kModelA, 1), Way::Alone);
  // the cores now share an L3: from the pool's next trial on (128 x 1.6^4
  // calls after its last), the pool, and alone only as a trial
  int before = simulate(choice, &kModelA, 1, 1000, 11'300, 14'200);
  int after = simulate(choice, &kModelA, 1, 300, 11'300, 14'200);
  EXPECT_LE(before, 900);
  EXPECT_LE(after, ParallelChoice::kTrialCalls);
  EXPECT_EQ(choice.choose(&kModelA, 1), Way::Pool);
}

TEST(ParallelChoice, ATrialOfThePoolCountsItsFastestCall) {
  ParallelChoice choice;
  simulate(choice, &kModelA, 1, 500, 22'800, 14'200); // alone is faster
  // now the pool takes 11.3 us, but the first call of each trial finds the
  // workers asleep (60 us): the pool still wins its trial
  int pool = 0;
  for (int i = 0; i < 800; ++i) {
    Way way = choice.choose(&kModelA, 1);
    bool first = way == Way::Pool && pool == 0;
    pool += way == Way::Pool;
    choice.record(&kModelA, 1, way, way == Way::Alone ? 14'200 : first ? 60'000 : 11'300);
  }
  EXPECT_EQ(choice.choose(&kModelA, 1), Way::Pool);
  EXPECT_GT(pool, 400);
}

TEST(ParallelChoice, ANoisyMachineKeepsTheFasterWay) {
  ParallelChoice choice;
  // the pool's calls take 11.3 us, but every third 30 (a busy host): its
  // fastest calls still beat 14.2 alone
  int alone = 0;
  for (int i = 0; i < 1000; ++i) {
    Way way = choice.choose(&kModelA, 1);
    alone += way == Way::Alone;
    choice.record(&kModelA, 1, way, way == Way::Alone ? 14'200 : i % 3 == 0 ? 30'000 : 11'300);
  }
  EXPECT_LE(alone, 5 * ParallelChoice::kTrialCalls);
  // and one way barely faster than the other (under kMarginPercent) does
  // not take over
  ParallelChoice close;
  EXPECT_LE(simulate(close, &kModelA, 1, 1000, 10'000, 9'700), 8 * ParallelChoice::kTrialCalls);
}

TEST(ParallelChoice, NeverRunsLongCallsAlone) {
  ParallelChoice choice;
  // 2.5 ms with the pool: every layer pays for its hand-off, whatever the
  // cores
  EXPECT_EQ(simulate(choice, &kModelA, 1, 300, 2'500'000, 1'500'000), 0);
}

TEST(ParallelChoice, KeepsModelsAndBatchesApart) {
  ParallelChoice choice;
  for (int round = 0; round < 200; ++round) {
    simulate(choice, &kModelA, 1, 1, 22'800, 14'200); // alone faster
    simulate(choice, &kModelA, 16, 1, 400'000, 800'000); // the pool faster
    simulate(choice, &kModelB, 1, 1, 11'300, 14'200);    // the pool faster
  }
  EXPECT_EQ(choice.choose(&kModelA, 1), Way::Alone);
  EXPECT_EQ(choice.choose(&kModelA, 16), Way::Pool);
  EXPECT_EQ(choice.choose(&kModelB, 1), Way::Pool);
}

// Which threads ran a loop's chunks.
struct Chunks {
  std::array<std::thread::id, 64> by{};
  std::array<std::int64_t, 64> begin{};
  std::atomic<int> count{0};
  static void run(void *arg, std::int64_t b, std::int64_t) {
    auto *self = static_cast<Chunks *>(arg);
    int i = self->count.fetch_add(1);
    self->by[size_t(i)] = std::this_thread::get_id();
    self->begin[size_t(i)] = b;
    // long enough that the other thread takes its share with the pool
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
};

TEST(ParallelChoice, ACallChosenAloneRunsEachLoopInOnePieceHere) {
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(2, 0, &ctx), SEQRT_OK);
  // prime the choice: the pool measured slow, the calling thread fast
  simulate(ctx->choice, &kModelA, 1, 10, 1'500'000, 1'000);
  seq::rt::beginForward(*ctx, &kModelA, 1);
  ASSERT_EQ(ctx->forwardWay, Way::Alone);
  Chunks alone;
  seqrt_parallel_for(ctx, 8, Chunks::run, &alone);
  EXPECT_EQ(alone.count.load(), 1);
  EXPECT_EQ(alone.by[0], std::this_thread::get_id());
  seqrt_forward_end(ctx);
  EXPECT_EQ(ctx->forwardModel, nullptr);

  // another model, not measured yet: the pool, both threads, for the
  // warm-up calls and the first window
  for (int call = 0; call < ParallelChoice::kWarmupCalls + ParallelChoice::kWindowCalls; ++call) {
    seq::rt::beginForward(*ctx, &kModelB, 1);
    ASSERT_EQ(ctx->forwardWay, Way::Pool);
    Chunks pooled;
    seqrt_parallel_for(ctx, 8, Chunks::run, &pooled);
    EXPECT_GT(pooled.count.load(), 1);
    seqrt_forward_end(ctx);
  }
  // those calls were recorded: the next of model B are a trial alone
  seq::rt::beginForward(*ctx, &kModelB, 1);
  EXPECT_EQ(ctx->forwardWay, Way::Alone);
  seqrt_forward_end(ctx); // no loop ran: nothing recorded
  seq::rt::beginForward(*ctx, &kModelB, 1);
  EXPECT_EQ(ctx->forwardWay, Way::Alone);
  seqrt_forward_end(ctx);
  seqrt_context_free(ctx);
}

TEST(ParallelChoice, OneThreadDecidesNothing) {
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(1, 0, &ctx), SEQRT_OK);
  seq::rt::beginForward(*ctx, &kModelA, 1);
  EXPECT_EQ(ctx->forwardModel, nullptr);
  EXPECT_EQ(ctx->forwardWay, Way::Pool);
  seqrt_forward_end(ctx);
  seqrt_forward_end(nullptr);
  seqrt_context_free(ctx);
}

} // namespace

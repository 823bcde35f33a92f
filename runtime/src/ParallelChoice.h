// ParallelChoice.h: whether a context's forward calls of a model hand
// their loops to the thread pool or run them all on the calling thread,
// chosen from how long recent calls took each way.
//
// Handing a loop to another core costs that core's cache misses on what
// the caller wrote, and the caller's on what it writes back. Where the
// two cores share an L3 that is tens of nanoseconds a line; where they do
// not (a VM's vCPUs on two dies of the host, for minutes at a time) it is
// hundreds, and a small model's layers do not earn it back: LeNet-5 at
// batch 1 took 22.8 us on two threads against 14.2 on one, MobileNetV3-
// Small 1.69 ms against 1.55. Which way is faster changes with the
// placement, which the process cannot see, so a context measures it.
//
// Per model and batch (a few at a time), the calls run with the pool,
// each timed from its first loop to its end (the first kWarmupCalls not
// counted: cold caches); then, and every so often after, kTrialCalls in a
// row run on the calling thread alone. Each way's time is the fastest of
// a few calls, the way in use's of its last kWindowCalls, the other's of
// its last trial: a VM's calls take two or three times as long now and
// then, whichever way (and a trial of the pool after a while alone finds
// the workers asleep: waking them takes tens of microseconds). The calls
// run the faster way, the other only once it is kMarginPercent faster.
// The other way is tried again after kExploreEvery calls, more rarely the
// slower it was (each trial costs that difference), so that a change of
// placement is noticed within a few hundred to a few thousand calls. Only calls that take under kMaxChoiceNs with the
// faster way are ever run alone: above that, every layer is long enough
// to pay for its hand-off, and a call on one core would cost
// milliseconds. The outputs are the same bits either way: a loop's tasks
// compute the same things, in one call or several.
#pragma once

#include <array>
#include <cstdint>

namespace seq::rt {

class ParallelChoice {
public:
  enum class Way : std::uint8_t { Pool, Alone };

  // The way the next call of (model, batch) runs.
  Way choose(const void *model, std::int64_t batch);
  // Records that call's time (from its first loop to its end).
  void record(const void *model, std::int64_t batch, Way way, std::int64_t ns);

  static constexpr std::int64_t kMaxChoiceNs = 2'000'000;
  static constexpr std::int64_t kExploreEvery = 128;
  static constexpr int kWarmupCalls = 2;
  static constexpr int kWindowCalls = 8;
  static constexpr int kTrialCalls = 4;
  static constexpr int kMarginPercent = 5;

private:
  struct Entry {
    const void *model = nullptr;
    std::int64_t batch = -1;
    std::array<std::int64_t, 2> fastestNs{}; // each way's time; 0: not measured yet
    std::int64_t calls = 0;                  // of the best way since the last trial
    std::int64_t windowNs = 0;               // the fastest call of the best way's window
    std::int64_t trialNs = 0;                // the fastest call of the trial under way
    int warmup = 0;                          // calls seen, up to kWarmupCalls
    int windowLeft = kWindowCalls;           // calls left in the best way's window
    int trialLeft = 0;                       // calls left in the trial under way
    Way best = Way::Pool;
  };
  static void compare(Entry &e);
  Entry &entry(const void *model, std::int64_t batch);

  std::array<Entry, 4> entries_{};
  std::size_t next_ = 0; // the entry a new key replaces
};

} // namespace seq::rt

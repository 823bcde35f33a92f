// ParallelChoice.cpp: the per-model choice between the pool and the
// calling thread (ParallelChoice.h).
#include "ParallelChoice.h"

#include <algorithm>

namespace seq::rt {
namespace {

constexpr std::size_t index(ParallelChoice::Way way) { return way == ParallelChoice::Way::Pool ? 0 : 1; }

ParallelChoice::Way other(ParallelChoice::Way way) {
  return way == ParallelChoice::Way::Pool ? ParallelChoice::Way::Alone : ParallelChoice::Way::Pool;
}

// Calls of the better way between two trials of the other: kExploreEvery
// times the fourth power of how much slower the other was, up to 64 times
// that (a trial costs the difference kTrialCalls times: MobileNetV3-Small
// in the fast placement, 1.6x slower alone, tries it every 860 calls).
std::int64_t trialInterval(std::int64_t bestNs, std::int64_t otherNs) {
  double ratio = bestNs > 0 ? double(otherNs) / double(bestNs) : 1.0;
  double times = std::clamp(ratio * ratio * ratio * ratio, 1.0, 64.0);
  return std::int64_t(double(ParallelChoice::kExploreEvery) * times);
}

} // namespace

ParallelChoice::Entry &ParallelChoice::entry(const void *model, std::int64_t batch) {
  for (Entry &e : entries_)
    if (e.model == model && e.batch == batch)
      return e;
  Entry &fresh = entries_[next_];
  next_ = (next_ + 1) % entries_.size();
  fresh = Entry{};
  fresh.model = model;
  fresh.batch = batch;
  return fresh;
}

ParallelChoice::Way ParallelChoice::choose(const void *model, std::int64_t batch) {
  Entry &e = entry(model, batch);
  const std::int64_t pool = e.fastestNs[0];
  if (e.warmup < kWarmupCalls || pool == 0 || (e.best == Way::Pool && pool >= kMaxChoiceNs))
    return Way::Pool; // cold, or long enough to pay for the hand-offs
  if (e.trialLeft == 0) {
    const std::int64_t best = e.fastestNs[index(e.best)], slower = e.fastestNs[index(other(e.best))];
    if (slower == 0 || e.calls >= trialInterval(best, slower)) {
      e.trialLeft = kTrialCalls;
      e.trialNs = 0;
    }
  }
  return e.trialLeft > 0 ? other(e.best) : e.best;
}

void ParallelChoice::compare(Entry &e) {
  const std::int64_t best = e.fastestNs[index(e.best)], slower = e.fastestNs[index(other(e.best))];
  if (best == 0 || slower == 0 || slower * 100 >= best * (100 - kMarginPercent))
    return;
  e.best = other(e.best);
  e.calls = 0;
  e.windowNs = 0;
  e.windowLeft = kWindowCalls;
}

void ParallelChoice::record(const void *model, std::int64_t batch, Way way, std::int64_t ns) {
  Entry &e = entry(model, batch);
  ns = std::max<std::int64_t>(ns, 1);
  if (e.warmup < kWarmupCalls) {
    ++e.warmup;
    return;
  }
  if (way != e.best) {
    if (e.trialLeft == 0)
      return; // (not chosen here)
    e.trialNs = e.trialNs == 0 ? ns : std::min(e.trialNs, ns);
    if (--e.trialLeft > 0)
      return;
    e.fastestNs[index(way)] = e.trialNs;
    e.calls = 0;
    compare(e);
    return;
  }
  ++e.calls;
  e.windowNs = e.windowNs == 0 ? ns : std::min(e.windowNs, ns);
  if (--e.windowLeft > 0)
    return;
  e.fastestNs[index(way)] = e.windowNs;
  e.windowNs = 0;
  e.windowLeft = kWindowCalls;
  compare(e);
}

} // namespace seq::rt

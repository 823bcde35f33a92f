// StageTimer: the stage table behind -v / --time-passes.
#include "driver/StageTimer.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace seq::driver {

StageTimes &StageTimes::instance() {
  static StageTimes times;
  return times;
}

void StageTimes::add(const std::string &stage, double seconds) {
  auto found = std::find_if(stages_.begin(), stages_.end(),
                            [&](const auto &entry) { return entry.first == stage; });
  if (found != stages_.end())
    found->second += seconds;
  else
    stages_.emplace_back(stage, seconds);
}

void StageTimes::print(std::ostream &out) const {
  if (!enabled_ || stages_.empty())
    return;
  double total = 0;
  out << "seqc: time per stage:\n";
  for (const auto &[stage, seconds] : stages_) {
    out << fmt::format("  {:<16} {:>10.3f} ms\n", stage, seconds * 1e3);
    total += seconds;
  }
  out << fmt::format("  {:<16} {:>10.3f} ms\n", "total", total * 1e3);
}

double ScopedStage::stop() {
  if (!stopped_) {
    stopped_ = true;
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    StageTimes::instance().add(stage_, seconds_);
  }
  return seconds_;
}

} // namespace seq::driver

// StageTimer: `-v` / `--time-passes`, the wall-clock time of each stage a
// command runs (parse, sema, lower, passes, codegen, load weights, run),
// printed on standard error when the command ends.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace seq::driver {

class StageTimes {
public:
  // The process's one table (seqc runs one command).
  static StageTimes &instance();

  void enable() { enabled_ = true; }
  bool enabled() const { return enabled_; }
  // Adds `seconds` to `stage` (a stage run twice, e.g. parsing two files,
  // is one line).
  void add(const std::string &stage, double seconds);
  // One line per stage in the order first run, then the total; nothing
  // when not enabled.
  void print(std::ostream &out) const;

private:
  bool enabled_ = false;
  std::vector<std::pair<std::string, double>> stages_;
};

// Times the scope it lives in as `stage`.
class ScopedStage {
public:
  explicit ScopedStage(std::string stage)
      : stage_(std::move(stage)), start_(std::chrono::steady_clock::now()) {}
  ~ScopedStage() { stop(); }
  ScopedStage(const ScopedStage &) = delete;
  ScopedStage &operator=(const ScopedStage &) = delete;

  // Ends the stage before the scope does; returns its seconds.
  double stop();

private:
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
  bool stopped_ = false;
  double seconds_ = 0;
};

} // namespace seq::driver

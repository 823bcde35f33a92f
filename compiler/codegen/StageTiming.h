// StageTiming: lets the driver time the code generator's stages (building
// the LLVM module, LLVM's optimisation pipeline, writing the object or
// JIT-compiling it) for -v / --time-passes, without codegen knowing about
// the driver. No observer (the default): nothing is measured.
#pragma once

#include <chrono>

namespace seq::codegen {

// Called once per finished stage with its wall-clock seconds.
using StageObserver = void (*)(const char *stage, double seconds);

inline StageObserver &stageObserver() {
  static StageObserver observer = nullptr;
  return observer;
}

// Reports the scope it lives in as `stage` to the observer, if any.
class StageScope {
public:
  explicit StageScope(const char *stage) : stage_(stage) {}
  ~StageScope() {
    if (StageObserver observer = stageObserver())
      observer(stage_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  StageScope(const StageScope &) = delete;
  StageScope &operator=(const StageScope &) = delete;

private:
  const char *stage_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace seq::codegen

// TargetOptions: what the code generator compiles for (--target, --cpu,
// -O) and what it writes (--emit).
#pragma once

#include <string>

namespace seq::codegen {

struct TargetOptions {
  // A target triple, short forms allowed ("aarch64-linux-gnu"); empty: the
  // host.
  std::string triple;
  // A CPU name for the target; empty: the host CPU (and its features) when
  // compiling for the host, "generic" otherwise.
  std::string cpu;
  // 0..3, as -O0..-O3. The default is -O2: the kernels are always-inline
  // and vectorised at -O2 as at -O3, and the models ran as fast (ResNet-18,
  // MobileNetV2, the VGG block at batch 1, same run), while -O3's extra
  // passes (non-trivial loop unswitching, bigger unrolling) made the code
  // 10-15% larger and the build 25-35% slower (DenseNet-121: 7.1 -> 4.7 s
  // of CPU), so -O2 is what `seqc build` and `seqc run` use.
  static constexpr int kDefaultOptLevel = 2;
  int optLevel = kDefaultOptLevel;
  // A developer option (--sanitize thread): the module instrumented for
  // ThreadSanitizer (SanitizeThread.h). Its code then calls __tsan_*: link
  // it into a -fsanitize=thread program; the JIT needs a ThreadSanitizer
  // build of seqc.
  bool sanitizeThread = false;
  // `seqc run --profile`: the forward function marks the start of each
  // node it runs (seqc_profile_mark, Profile.h) and runs the nodes one
  // after the other over the whole batch (no image groups, no batch
  // slices), so that each node's time is the time to the next mark. The
  // JIT only.
  bool profile = false;
  // A directory where `seqc build` and `seqc run` keep the compiled
  // pooled kernels between runs (ParallelEmit.h); empty: compile them
  // every time.
  std::string kernelCache;
};

enum class EmitKind { Object, Assembly, LlvmIr };

} // namespace seq::codegen

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
  // 0..3, as -O0..-O3.
  int optLevel = 3;
};

enum class EmitKind { Object, Assembly, LlvmIr };

} // namespace seq::codegen

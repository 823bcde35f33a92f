// SanitizeThread: the generated module instrumented for ThreadSanitizer, a
// developer option (`seqc build|run --sanitize thread`, or
// SEQC_SANITIZE=thread) so that a -fsanitize=thread program, or a
// ThreadSanitizer build of seqc, sees the forward's own loads and stores.
#pragma once

#include <llvm/IR/Module.h>

namespace seq::codegen {

// Instruments every function defined in `module` (the forward, its tasks,
// the kernels linked in) for ThreadSanitizer, before the optimiser runs:
// - every function gets the sanitize_thread attribute, and loses its loop
//   hints (an instrumented loop is never vectorised);
// - each load and store of a size LLVM's pass ignores (anything but 1, 2,
//   4, 8 or 16 bytes: the kernels' 64-byte vectors) is announced by a
//   __tsan_read_range / __tsan_write_range call of its size;
// - then LLVM's ThreadSanitizer passes instrument everything else (scalar
//   accesses, memcpy/memset, function entry and exit) and add the
//   constructor that calls __tsan_init.
// Instrumenting before the vectorisers keeps every access visible: clang's
// -fsanitize=thread instruments after them, and leaves their 256- and
// 512-bit loads and stores unchecked.
// The module then references __tsan_* functions: link it into a program
// built with -fsanitize=thread (or JIT it in a ThreadSanitizer seqc).
void instrumentForThreadSanitizer(llvm::Module &module);

// Whether this process runs under ThreadSanitizer (seqc built with
// -fsanitize=thread): only then can the JIT run an instrumented forward.
bool processHasThreadSanitizer();

} // namespace seq::codegen

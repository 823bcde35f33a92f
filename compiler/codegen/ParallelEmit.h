// ParallelEmit: a model's module optimised and compiled to one object file
// in memory, on two threads when it is large.
//
// Nearly all of `seqc build`'s time is LLVM's optimiser and code generator
// working through the tasks, each specialised to its layer's shapes. A
// large module is split in two after MergeFunctions (so equal tasks stay
// one), the parts balanced by an estimate of their size after inlining:
//   - each generated function goes to one part with every generated
//     function it calls (so inlining decisions are the same as in one
//     module); the forward function's part is part 0, with every global;
//   - the kernel library's inlinable functions, the epilogues (one may
//     serve many layers) and small internal constant tables are copied
//     into every part that uses them (they are inlined and folded as
//     before);
//   - its noinline kernels (seqk_gemm_packed, seqk_pointwise_lanes, the
//     convRows and convPoint tile kernels and packedConvRows / packedPointRows
//     around them: not specialised to their callers) are declarations in
//     the parts and compiled once, in a third module, the pool: those that a
//     part still calls once its pipeline's first half (inlining and
//     simplification) has folded the kernels' dispatch to constant shapes.
//     The pool's thread starts when every part has reported and runs
//     beside their second halves and code generation (copies in every
//     part that calls them were 10-20% of a zoo model's code);
//   - what a part refers to in another (a task's address, a pooled
//     kernel) is declared there and given hidden visibility where it is
//     defined.
// Each part is optimised and compiled on its own thread in its own
// LLVMContext (the module travels as bitcode), and the objects (the
// parts', then the pool's) are joined (ElfMerge.h), the symbols that were
// internal made local again. The
// split depends only on the module, never on the machine or the timing,
// so the object is the same on every run.
//
// A small module's code is one part, beside the pool's (the kernels are
// most of a small model's code: they are the ones worth caching). -O0,
// targets whose objects ElfMerge cannot join (anything but 64-bit
// little-endian ELF), instrumented modules and modules without pooled
// kernels are compiled as one, as optimizeModule and emitObject do.
#pragma once

#include "codegen/ObjectEmitter.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include <string>

namespace seq::codegen {

// Optimises `module` at `optLevel` for `target` and compiles it to an
// object file in `object`. `module` is changed. Stages (StageTiming.h):
// "prepare", then "LLVM optimise" and `emitStage` in one module, else
// "optimise+emit x2" and "join".
// With `kernelCache` (a directory), the pool's objects are kept there
// between runs (JitCache.h), keyed by their module before optimisation:
// the pooled kernels are not specialised to the model, so any model that
// uses the same ones reuses them (the object is the same either way).
llvm::Error compileModule(llvm::Module &module, llvm::TargetMachine &machine, const ResolvedTarget &target,
                          int optLevel, llvm::SmallVectorImpl<char> &object, const char *emitStage = "emit",
                          const std::string &kernelCache = {});

// The number of parts compileModule splits `module` into (1: not split),
// after it has merged equal functions; for tests.
int plannedParts(llvm::Module &module, const ResolvedTarget &target, int optLevel);

} // namespace seq::codegen

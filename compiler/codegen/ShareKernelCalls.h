// ShareKernelCalls: one specialisation of a large kernel for the calls
// that differ only where some of them pass a run-time value.
//
// A convolution's layer often calls the same kernel from two tasks (its
// batch slots and its channel ranges), with the same constant shapes but,
// in one of them, a constant where the other passes a value (the channel
// range 0..C against begin..end). Inlined twice, the kernel is optimised
// and compiled twice, for no gain: the constant does not change the inner
// loops. Such calls go through one internal noinline function instead
// (`seqk.share.N`), which takes the differing arguments and passes the
// others as the constants they are, so the kernel is specialised once.
//
// Only calls to kernels of at least kMinSharedSize instructions once
// inlined are shared (a whole layer's or image's work per call: the
// elementwise functions that run per vector are far smaller), and only
// with at most kMaxDroppedConstants constants turned into arguments and
// at least kMinKeptConstants kept; constants that differ (shapes,
// epilogues) never are. A call costs a few
// nanoseconds against a kernel's microseconds.
#pragma once

#include <llvm/ADT/StringSet.h>
#include <llvm/IR/Module.h>

namespace seq::codegen {

// Shares calls in `module`'s functions to the functions named in
// `kernels`; returns the number of calls that now go through a shared
// function.
int shareKernelCalls(llvm::Module &module, const llvm::StringSet<> &kernels);

} // namespace seq::codegen

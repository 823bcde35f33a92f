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
// epilogues) never are, but for the arguments the call's code generator
// marked as run-time arguments (markRunTimeArgs): values that only bound
// outer loops, such as a channel count around a GEMM that takes it at
// run time anyway. Those become arguments where the calls differ in them,
// and count against neither limit. A call costs a few nanoseconds
// against a kernel's microseconds.
#pragma once

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringSet.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>

namespace seq::codegen {

// Marks arguments `args` (indices) of the kernel call `call` as ones that
// shareKernelCalls may make run-time arguments where calls differ in them
// (metadata on the call).
void markRunTimeArgs(llvm::CallInst *call, llvm::ArrayRef<unsigned> args);

// Shares calls in `module`'s functions to the functions named in
// `kernels`; returns the number of calls that now go through a shared
// function.
int shareKernelCalls(llvm::Module &module, const llvm::StringSet<> &kernels);

} // namespace seq::codegen

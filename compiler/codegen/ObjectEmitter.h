// ObjectEmitter: target machines for --target/--cpu, the -O pipeline, and
// writing a module as an object, assembly or textual IR without ever
// leaving a partial file behind.
#pragma once

#include "codegen/KernelLibrary.h"
#include "codegen/TargetOptions.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Triple.h>

#include <memory>
#include <string>

namespace seq::codegen {

// A target with everything defaulted: the normalised triple, the CPU and
// its features ("" unless compiling for the host CPU).
struct ResolvedTarget {
  llvm::Triple triple;
  std::string cpu;
  std::string features;
  bool host = false;
  // The kernels' register tiles for this CPU (kernelTilesFor).
  KernelTiles tiles = KernelTiles::Wide;
};

// Narrow on x86 without AVX-512 (16 vector registers), else Wide; the
// environment's SEQC_KERNEL_TILES=narrow|wide overrides it (for tests: the
// narrow kernels checked on an AVX-512 machine, and the reverse).
KernelTiles kernelTilesFor(const llvm::Triple &triple, const std::string &cpu, const std::string &features);

// Registers every target LLVM was built with (once per process).
void initializeTargets();

// Fills in the defaults of `options`: the host triple; the host CPU and
// features on the host, "generic" elsewhere. Fails for a target LLVM does
// not know, naming those it does.
llvm::Expected<ResolvedTarget> resolveTarget(const TargetOptions &options);

// -O0..-O3 for the code generator (instruction selection, scheduling).
llvm::CodeGenOptLevel codeGenOptLevel(int optLevel);

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const ResolvedTarget &target,
                                                                       int optLevel);

// Runs LLVM's default pipeline for -O`optLevel` on `module`, with the
// target's cost model so vectorisation uses its real vector width.
// `prepare`: first prepareModule (false when the caller has done so on the
// whole module before splitting it, ParallelEmit.h). `simplified`, if
// given, sees the module between the pipeline's two halves (inlining and
// simplification, then vectorisation, unrolling and the late clean-up):
// the same passes as without it, in two runs.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine, int optLevel, bool prepare = true,
                    llvm::function_ref<void(llvm::Module &)> simplified = nullptr);

// The whole-module steps before the pipeline (at -O1 and up): equal
// functions become one (the tasks and epilogues of layers with equal
// shapes, LlvmGen.h), before the kernels are inlined into them, so that a
// deep stack of equal layers costs the optimiser one; then calls that can
// share a kernel's specialisation do (ShareKernelCalls.h).
void prepareModule(llvm::Module &module, int optLevel);

// Compiles an optimised `module` to an object file in memory.
llvm::Error emitObject(llvm::Module &module, llvm::TargetMachine &machine, llvm::SmallVectorImpl<char> &object);

// Writes `bytes` to `path` atomically, as writeModule does.
llvm::Error writeBytes(llvm::StringRef bytes, const std::string &path);

// Writes `module` to `path`: to a temporary file in the same directory,
// renamed into place when complete, removed on failure.
llvm::Error writeModule(llvm::Module &module, llvm::TargetMachine &machine, EmitKind kind,
                        const std::string &path);

} // namespace seq::codegen

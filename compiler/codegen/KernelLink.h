// KernelLink: brings the kernel library (codegen/kernels, embedded as
// bitcode per architecture) into a model's module, and gives every
// function the target's CPU and features.
#pragma once

#include "codegen/KernelLibrary.h"

#include <llvm/ADT/StringSet.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/TargetParser/Triple.h>

namespace seq::codegen {

// Links the kernel bitcode for `triple`'s architecture into `module` (whose
// triple and data layout are already set), then makes every seqk_*
// function internal and always-inline, so that each call is specialised
// to its constant shapes and unused kernels disappear.
// `tiles`: the variant for the target's vector registers (KernelLibrary.h).
llvm::Error linkKernelLibrary(llvm::Module &module, const llvm::Triple &triple, KernelTiles tiles);

// The names of the functions the kernel library for `triple`'s
// architecture defines (empty without one); read once per architecture.
const llvm::StringSet<> &kernelFunctionNames(const llvm::Triple &triple);

// Sets target-cpu and target-features on every function definition and
// drops tune-cpu, so kernels and generated code are compiled alike.
void setTargetAttributes(llvm::Module &module, llvm::StringRef cpu, llvm::StringRef features);

} // namespace seq::codegen

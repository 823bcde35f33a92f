// ModuleBuilder: builds a model's module for a given target machine; the
// common step of buildModule/emitFile (Codegen.h) and the JIT.
#pragma once

#include "codegen/ObjectEmitter.h"

#include "ir/Graph.h"

#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <vector>

namespace seq::codegen {

struct ModuleRequest {
  const std::vector<float> *embeddedWeights = nullptr; // packed, or null
  bool jitWrapper = false; // also emit <prefix>_jit_forward (Jit.cpp)
  bool sanitizeThread = false; // instrumented for ThreadSanitizer (SanitizeThread.h)
  bool profile = false;        // marks of the nodes' starts (TargetOptions::profile)
};

// The unoptimised (but, with sanitizeThread, instrumented), verified module: kernels linked in, the forward
// function, `<prefix>_model`, every function compiled for `target`.
llvm::Expected<std::unique_ptr<llvm::Module>> buildModuleFor(const ir::Graph &graph, llvm::LLVMContext &context,
                                                             llvm::TargetMachine &machine,
                                                             const ResolvedTarget &target,
                                                             const ModuleRequest &request);

} // namespace seq::codegen

// Codegen: the public entry points of seqc's code generator, the only
// header the driver includes. A planned graph (after passes/) becomes one
// LLVM module holding the model's fused forward function and its
// `seqrt_model` description; that module is written as an object, assembly
// or textual IR (emitFile), or compiled in memory (JitModel).
#pragma once

#include "codegen/HeaderEmitter.h"
#include "codegen/Jit.h"
#include "codegen/ModelDesc.h"
#include "codegen/TargetOptions.h"

#include "ir/Graph.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include <memory>
#include <string>
#include <vector>

namespace seq::codegen {

// The unoptimised module for `graph`: the kernel library linked in, one
// `<prefix>_forward` and `<prefix>_model`, triple and data layout set for
// `target`. With `embeddedWeights` (the packed buffer, graph.packedSize
// floats) the weights become an internal constant, which the forward
// function uses when its weights argument is NULL.
llvm::Expected<std::unique_ptr<llvm::Module>>
buildModule(const ir::Graph &graph, llvm::LLVMContext &context, const TargetOptions &target,
            const std::vector<float> *embeddedWeights);

// Builds, optimises (target.optLevel) and writes the module to `path`
// atomically: a temporary file in the same directory, renamed into place.
llvm::Error emitFile(const ir::Graph &graph, const TargetOptions &target, EmitKind kind,
                     const std::string &path, const std::vector<float> *embeddedWeights);

} // namespace seq::codegen

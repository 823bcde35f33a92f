// AnalysisManagers: the four analysis managers of LLVM's new pass manager,
// registered with a PassBuilder and cross-wired, as every pipeline that
// seqc runs needs them (ObjectEmitter's optimiser, SanitizeThread's
// instrumentation). Declared loop to module, so that they are destroyed
// module first, as LLVM requires.
#pragma once

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/Passes/PassBuilder.h>

namespace seq::codegen {

struct AnalysisManagers {
  llvm::LoopAnalysisManager loop;
  llvm::FunctionAnalysisManager function;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager module;

  explicit AnalysisManagers(llvm::PassBuilder &builder) {
    builder.registerModuleAnalyses(module);
    builder.registerCGSCCAnalyses(cgscc);
    builder.registerFunctionAnalyses(function);
    builder.registerLoopAnalyses(loop);
    builder.crossRegisterProxies(loop, function, cgscc, module);
  }
  AnalysisManagers(const AnalysisManagers &) = delete;
  AnalysisManagers &operator=(const AnalysisManagers &) = delete;
};

} // namespace seq::codegen

// SanitizeThread: see SanitizeThread.h.
#include "codegen/SanitizeThread.h"

#include "codegen/AnalysisManagers.h"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/CaptureTracking.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/PassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Transforms/Instrumentation/ThreadSanitizer.h>

#include <vector>

namespace seq::codegen {

using namespace llvm;

namespace {

// The sizes ThreadSanitizerPass instruments itself (__tsan_readN/writeN).
bool tsanHandles(uint64_t bits) { return bits == 8 || bits == 16 || bits == 32 || bits == 64 || bits == 128; }

// A thread's own stack slot, never seen by another thread.
bool isPrivateStackSlot(Value *pointer) {
  auto *slot = dyn_cast<AllocaInst>(getUnderlyingObject(pointer));
  return slot && !PointerMayBeCaptured(slot, /*ReturnCaptures=*/true, /*StoreCaptures=*/true);
}

void announceWideAccesses(Module &module) {
  LLVMContext &context = module.getContext();
  const DataLayout &layout = module.getDataLayout();
  Type *intptr = layout.getIntPtrType(context);
  Type *ptr = PointerType::getUnqual(context);
  FunctionCallee readRange =
      module.getOrInsertFunction("__tsan_read_range", Type::getVoidTy(context), ptr, intptr);
  FunctionCallee writeRange =
      module.getOrInsertFunction("__tsan_write_range", Type::getVoidTy(context), ptr, intptr);
  for (Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    std::vector<Instruction *> accesses;
    for (BasicBlock &block : fn)
      for (Instruction &inst : block)
        if (isa<LoadInst>(inst) || isa<StoreInst>(inst))
          accesses.push_back(&inst);
    for (Instruction *inst : accesses) {
      auto *load = dyn_cast<LoadInst>(inst);
      auto *store = dyn_cast<StoreInst>(inst);
      Type *type = load ? load->getType() : store->getValueOperand()->getType();
      Value *pointer = load ? load->getPointerOperand() : store->getPointerOperand();
      TypeSize bits = layout.getTypeStoreSizeInBits(type);
      if (bits.isScalable() || tsanHandles(bits.getFixedValue()) || isPrivateStackSlot(pointer))
        continue;
      IRBuilder<> builder(inst);
      builder.CreateCall(load ? readRange : writeRange,
                         {pointer, ConstantInt::get(intptr, bits.getFixedValue() / 8)});
    }
  }
}

} // namespace

void instrumentForThreadSanitizer(Module &module) {
  for (Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr(Attribute::SanitizeThread);
    // The kernels' loop hints (vectorize(enable)) would only make the
    // optimiser warn: a loop that calls __tsan_* is never vectorised.
    for (BasicBlock &block : fn)
      block.getTerminator()->setMetadata(LLVMContext::MD_loop, nullptr);
  }
  announceWideAccesses(module);

  PassBuilder builder;
  AnalysisManagers analyses(builder);
  ModulePassManager passes;
  passes.addPass(ModuleThreadSanitizerPass());
  passes.addPass(createModuleToFunctionPassAdaptor(ThreadSanitizerPass()));
  passes.run(module, analyses.module);
}

bool processHasThreadSanitizer() {
#if defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

} // namespace seq::codegen

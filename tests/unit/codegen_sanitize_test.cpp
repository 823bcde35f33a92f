// The developer option --sanitize thread (codegen/SanitizeThread.h): the
// generated module, kernels included, instrumented for ThreadSanitizer
// before the optimiser, its 64-byte vector accesses as ranges; the JIT runs
// it only in a ThreadSanitizer process, and there it computes what the
// uninstrumented forward does.
#include "codegen_test_support.h"

#include "codegen/Codegen.h"
#include "codegen/SanitizeThread.h"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>

namespace codegen_test {
namespace {

using seq::codegen::TargetOptions;
using namespace llvm;

std::unique_ptr<Module> build(const TestModel &m, LLVMContext &context, bool sanitize) {
  TargetOptions options;
  options.sanitizeThread = sanitize;
  auto module = seq::codegen::buildModule(m.g, context, options, nullptr);
  if (!module) {
    ADD_FAILURE() << toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

bool callsTsan(const Module &module) {
  for (const Function &fn : module)
    if (fn.getName().starts_with("__tsan_") && !fn.use_empty())
      return true;
  return false;
}

// The callee's name when `inst` follows a direct call, else "".
std::string callBefore(const Instruction &inst) {
  const auto *call = dyn_cast_or_null<CallInst>(inst.getPrevNode());
  const Function *callee = call ? call->getCalledFunction() : nullptr;
  return callee ? callee->getName().str() : "";
}

TEST(CodegenSanitize, WithoutTheOptionNothingIsInstrumented) {
  TestModel m = mlpModel();
  LLVMContext context;
  std::unique_ptr<Module> module = build(m, context, false);
  ASSERT_TRUE(module);
  EXPECT_FALSE(callsTsan(*module));
  for (const Function &fn : *module)
    EXPECT_FALSE(fn.hasFnAttribute(Attribute::SanitizeThread)) << fn.getName().str();
}

// LLVM's pass instruments accesses of 1, 2, 4, 8 and 16 bytes and skips the
// rest: the kernels' 64-byte vectors (tile.h) need a range each.
TEST(CodegenSanitize, EveryFunctionAndEveryWideVectorAccessIsInstrumented) {
  TestModel m = mlpModel();
  LLVMContext context;
  std::unique_ptr<Module> module = build(m, context, true);
  ASSERT_TRUE(module);
  const DataLayout &layout = module->getDataLayout();
  int wide = 0, entries = 0;
  for (const Function &fn : *module) {
    if (fn.isDeclaration() || fn.getName() == "tsan.module_ctor") // calls __tsan_init
      continue;
    EXPECT_TRUE(fn.hasFnAttribute(Attribute::SanitizeThread)) << fn.getName().str();
    for (const BasicBlock &block : fn)
      for (const Instruction &inst : block) {
        if (const auto *call = dyn_cast<CallInst>(&inst))
          if (const Function *callee = call->getCalledFunction())
            entries += callee->getName() == "__tsan_func_entry";
        const auto *load = dyn_cast<LoadInst>(&inst);
        const auto *store = dyn_cast<StoreInst>(&inst);
        if (!load && !store)
          continue;
        Type *type = load ? load->getType() : store->getValueOperand()->getType();
        const Value *pointer = load ? load->getPointerOperand() : store->getPointerOperand();
        if (layout.getTypeStoreSize(type) <= 16 || isa<AllocaInst>(getUnderlyingObject(pointer)))
          continue;
        ++wide;
        EXPECT_EQ(callBefore(inst), load ? "__tsan_read_range" : "__tsan_write_range")
            << fn.getName().str() << ": " << layout.getTypeStoreSize(type).getFixedValue() << "-byte "
            << (load ? "load" : "store");
      }
  }
  EXPECT_GT(wide, 0) << "the kernels' 64-byte vectors";
  EXPECT_GT(entries, 0);
  EXPECT_TRUE(module->getFunction("__tsan_read4") || module->getFunction("__tsan_unaligned_read4"));
  EXPECT_TRUE(module->getFunction("__tsan_write4") || module->getFunction("__tsan_unaligned_write4"));
}

TEST(CodegenSanitize, JitNeedsAThreadSanitizerProcess) {
  TestModel m = mlpModel();
  TargetOptions options;
  options.sanitizeThread = true;
  auto jit = seq::codegen::JitModel::create(m.g, options);
  if (!seq::codegen::processHasThreadSanitizer()) {
    ASSERT_FALSE(bool(jit));
    EXPECT_NE(toString(jit.takeError()).find("needs a ThreadSanitizer build of seqc"), std::string::npos);
    return;
  }
  // Under ThreadSanitizer: the instrumented forward runs, on 2 threads,
  // and agrees with the uninstrumented one.
  ASSERT_TRUE(bool(jit)) << toString(jit.takeError());
  std::unique_ptr<seq::codegen::JitModel> plain = compile(m, TargetOptions::kDefaultOptLevel);
  ASSERT_TRUE(plain);
  constexpr int64_t batch = 5;
  std::vector<std::vector<float>> inputs = {randomVector(size_t(batch * 8), 5)};
  expectNear(run(**jit, m, inputs, batch), run(*plain, m, inputs, batch), "instrumented forward");
}

} // namespace
} // namespace codegen_test

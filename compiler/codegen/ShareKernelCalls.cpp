// ShareKernelCalls: sharing a kernel's specialisation between calls that
// differ only in run-time arguments (ShareKernelCalls.h).
#include "codegen/ShareKernelCalls.h"

#include <llvm/ADT/DenseMap.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Metadata.h>

#include <algorithm>
#include <vector>

namespace seq::codegen {

using namespace llvm;

namespace {

constexpr const char *kRunTimeArgs = "seqk.runtime_args";

// A kernel smaller than this once inlined (instructions before
// optimisation) costs little to compile twice.
constexpr int64_t kMinSharedSize = 300;
// At most this many constants of one call become arguments, and at least
// this many stay constants (the shapes the specialisation is for).
constexpr size_t kMaxDroppedConstants = 2;
constexpr size_t kMinKeptConstants = 4;

struct Cluster {
  Function *callee = nullptr;
  std::vector<Constant *> pattern; // the shared constants; null: an argument
  size_t mostConstants = 0;        // of any member call
  std::vector<CallInst *> calls;
};

class Sharer {
public:
  Sharer(Module &module, const StringSet<> &kernels) : module_(module), kernels_(kernels) {}

  int run() {
    std::vector<Cluster> clusters;
    for (Function &f : module_) {
      if (f.isDeclaration() || isKernel(f) || f.getName().starts_with("seqk.share."))
        continue;
      std::vector<CallInst *> calls = candidates(f);
      if (calls.empty())
        continue;
      for (CallInst *call : calls)
        place(clusters, call);
    }
    int shared = 0;
    for (Cluster &cluster : clusters)
      if (cluster.calls.size() >= 2) {
        share(cluster);
        shared += int(cluster.calls.size());
      }
    return shared;
  }

private:
  bool isKernel(const Function &f) const { return f.hasLocalLinkage() && kernels_.contains(f.getName()); }
  bool inlined(const Function &f) const {
    return !f.isDeclaration() && isKernel(f) && !f.hasFnAttribute(Attribute::NoInline);
  }

  std::vector<CallInst *> candidates(Function &f) {
    std::vector<CallInst *> calls;
    for (BasicBlock &block : f)
      for (Instruction &inst : block)
        if (auto *call = dyn_cast<CallInst>(&inst))
          if (Function *callee = call->getCalledFunction();
              callee && inlined(*callee) && !call->isMustTailCall() && inlinedSize(*callee) >= kMinSharedSize)
            calls.push_back(call);
    return calls;
  }

  int64_t inlinedSize(const Function &f) {
    if (auto it = sizes_.find(&f); it != sizes_.end())
      return it->second;
    sizes_[&f] = 0;
    int64_t size = 0;
    for (const BasicBlock &block : f)
      for (const Instruction &inst : block) {
        ++size;
        if (const auto *call = dyn_cast<CallBase>(&inst))
          if (const Function *callee = call->getCalledFunction(); callee && inlined(*callee))
            size += inlinedSize(*callee);
      }
    sizes_[&f] = size;
    return size;
  }

  static std::vector<Constant *> constantsOf(CallInst *call) {
    std::vector<Constant *> args;
    for (Value *arg : call->args())
      args.push_back(dyn_cast<Constant>(arg));
    return args;
  }

  // Per argument, whether markRunTimeArgs marked it.
  static std::vector<bool> runTimeArgs(CallInst *call) {
    std::vector<bool> marked(call->arg_size(), false);
    if (MDNode *node = call->getMetadata(kRunTimeArgs))
      for (const MDOperand &op : node->operands())
        if (auto *index = mdconst::dyn_extract<ConstantInt>(op); index && index->getZExtValue() < marked.size())
          marked[size_t(index->getZExtValue())] = true;
    return marked;
  }

  // Into the first cluster it agrees with, else a new one. The marked
  // run-time arguments may differ, and are not counted.
  static void place(std::vector<Cluster> &clusters, CallInst *call) {
    std::vector<Constant *> args = constantsOf(call);
    std::vector<bool> runTime = runTimeArgs(call);
    size_t constants = 0;
    for (size_t i = 0; i < args.size(); ++i)
      constants += args[i] && !runTime[i];
    for (Cluster &cluster : clusters) {
      if (cluster.callee != call->getCalledFunction())
        continue;
      bool clash = false;
      size_t kept = 0;
      for (size_t i = 0; i < args.size() && !clash; ++i)
        if (cluster.pattern[i] && args[i] && !runTime[i]) {
          clash = cluster.pattern[i] != args[i];
          ++kept;
        }
      if (clash || kept < kMinKeptConstants ||
          std::max(cluster.mostConstants, constants) - kept > kMaxDroppedConstants)
        continue;
      for (size_t i = 0; i < args.size(); ++i)
        if (!args[i] || args[i] != cluster.pattern[i])
          cluster.pattern[i] = nullptr;
      cluster.mostConstants = std::max(cluster.mostConstants, constants);
      cluster.calls.push_back(call);
      return;
    }
    clusters.push_back({call->getCalledFunction(), args, constants, {call}});
  }

  void share(Cluster &cluster) {
    Function *callee = cluster.callee;
    LLVMContext &context = module_.getContext();
    std::vector<Type *> params;
    std::vector<AttributeSet> paramAttrs;
    AttributeList calleeAttrs = callee->getAttributes();
    for (size_t i = 0; i < cluster.pattern.size(); ++i)
      if (!cluster.pattern[i]) {
        params.push_back(callee->getFunctionType()->getParamType(unsigned(i)));
        paramAttrs.push_back(calleeAttrs.getParamAttrs(unsigned(i)));
      }
    auto *type = FunctionType::get(callee->getReturnType(), params, false);
    Function *fn = Function::Create(type, GlobalValue::InternalLinkage, "seqk.share." + callee->getName(), module_);
    AttrBuilder fnAttrs(context, calleeAttrs.getFnAttrs());
    fnAttrs.removeAttribute(Attribute::AlwaysInline);
    fnAttrs.addAttribute(Attribute::NoInline);
    fn->setAttributes(AttributeList::get(context, AttributeSet::get(context, fnAttrs), calleeAttrs.getRetAttrs(),
                                         paramAttrs));
    fn->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    IRBuilder<> b(BasicBlock::Create(context, "entry", fn));
    std::vector<Value *> args;
    unsigned next = 0;
    for (Constant *constant : cluster.pattern)
      args.push_back(constant ? static_cast<Value *>(constant) : fn->getArg(next++));
    CallInst *inner = b.CreateCall(callee, args);
    if (type->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(inner);
    for (CallInst *call : cluster.calls) {
      std::vector<Value *> passed;
      for (size_t i = 0; i < cluster.pattern.size(); ++i)
        if (!cluster.pattern[i])
          passed.push_back(call->getArgOperand(unsigned(i)));
      CallInst *replacement = CallInst::Create(fn, passed, "", call->getIterator());
      replacement->setDebugLoc(call->getDebugLoc());
      if (!call->getType()->isVoidTy())
        call->replaceAllUsesWith(replacement);
      call->eraseFromParent();
    }
  }

  Module &module_;
  const StringSet<> &kernels_;
  DenseMap<const Function *, int64_t> sizes_;
};

} // namespace

void markRunTimeArgs(CallInst *call, ArrayRef<unsigned> args) {
  LLVMContext &context = call->getContext();
  std::vector<Metadata *> indices;
  for (unsigned i : args)
    indices.push_back(ConstantAsMetadata::get(ConstantInt::get(Type::getInt32Ty(context), i)));
  call->setMetadata(kRunTimeArgs, MDNode::get(context, indices));
}

int shareKernelCalls(Module &module, const StringSet<> &kernels) { return Sharer(module, kernels).run(); }

} // namespace seq::codegen

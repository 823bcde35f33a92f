// ParallelEmit: splitting a module in two, compiling the parts on two
// threads and joining their objects (ParallelEmit.h).
#include "codegen/ParallelEmit.h"

#include "codegen/AnalysisManagers.h"
#include "codegen/ElfMerge.h"
#include "codegen/JitCache.h"
#include "codegen/KernelLink.h"
#include "codegen/StageTiming.h"

#include <llvm/ADT/EquivalenceClasses.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

namespace seq::codegen {

using namespace llvm;

namespace {

// Two parts, for the two cores seqc is measured on. The number is fixed,
// not the machine's core count, so that the object does not depend on the
// machine (one core runs the parts one after the other).
constexpr int kParts = 2;
// Below this estimated size (instructions after inlining) the model's
// code is one part: splitting it costs about what it gains (SqueezeNet
// 1.1: 0.91 -> 0.65 s). ResNet-18's module is ~50,000. Its pooled
// kernels are still the pool's: in seed 002's Net (four layers) they are
// 56 of 73 KB of code, 1.5 of its 1.85 s when compiled with it; from the
// kernel cache the build takes 0.33 s.
constexpr int64_t kSplitSize = 8000;
// Internal constants up to this size are copied into every part that uses
// them (the kernels' tables), so that their loads still fold.
constexpr uint64_t kCopiedConstantBytes = 1 << 16;

constexpr int kCopied = -1; // copied into every part that uses it
constexpr int kPooled = -2; // compiled once, in the pool, if a part still calls it
// The pool's kernels are compiled in this many modules, each on its own
// thread, so that the pool (which waits for every part's first half) is
// not one long task at the end.
constexpr int kPoolParts = 2;

struct Plan {
  std::vector<int> functionPart; // per function, in module order
  std::vector<int> globalPart;   // per global variable
  std::vector<bool> functionShared, globalShared; // referenced from another part
  StringSet<> localise; // internal names made visible for the split
  StringMap<int64_t> pooled; // the kernels owned by the pool, their sizes
  std::array<int64_t, kParts> size{};
  int parts = 1;
};

bool splittable(const Module &module, const ResolvedTarget &target, int optLevel) {
  const Triple &t = target.triple;
  if (optLevel == 0 || !t.isOSBinFormatELF() || (t.getArch() != Triple::x86_64 && t.getArch() != Triple::aarch64))
    return false;
  if (!module.alias_empty() || !module.ifunc_empty() || !module.getModuleInlineAsm().empty())
    return false;
  for (const GlobalVariable &g : module.globals())
    if (g.hasAppendingLinkage() || g.getName().starts_with("llvm.") || g.hasComdat() || g.isThreadLocal())
      return false;
  for (const Function &f : module)
    if (f.hasComdat())
      return false;
  return true;
}

int64_t instructionCount(const Function &f) {
  int64_t n = 0;
  for (const BasicBlock &block : f)
    n += int64_t(block.size());
  return n;
}

class Planner {
public:
  Planner(Module &module, const ResolvedTarget &target) : module_(module), kernels_(kernelFunctionNames(target.triple)) {
    for (Function &f : module)
      index_[&f] = functions_.size(), functions_.push_back(&f);
    for (GlobalVariable &g : module.globals())
      globalIndex_[&g] = globals_.size(), globals_.push_back(&g);
  }

  Plan plan() {
    Plan plan;
    plan.functionPart.assign(functions_.size(), kCopied);
    plan.globalPart.assign(globals_.size(), 0);
    plan.functionShared.assign(functions_.size(), false);
    plan.globalShared.assign(globals_.size(), false);
    // Groups: a function with every (non-noinline) function it calls or
    // may call once inlining makes the call direct (an epilogue passed to
    // a kernel), itself or through copied kernels.
    EquivalenceClasses<size_t> groups;
    for (size_t i = 0; i < functions_.size(); ++i)
      if (isNode(*functions_[i])) {
        groups.insert(i);
        std::vector<const Function *> stack{functions_[i]};
        DenseSet<const Function *> seen{functions_[i]};
        while (!stack.empty()) {
          const Function *f = stack.back();
          stack.pop_back();
          for (const Function *callee : inlinable(*f))
            if (!seen.insert(callee).second)
              continue;
            else if (isCopied(*callee))
              stack.push_back(callee);
            else if (!callee->hasFnAttribute(Attribute::NoInline))
              groups.unionSets(i, index_[callee]);
        }
      }
    // Each group's size, the groups in module order of their leaders.
    std::vector<std::pair<size_t, int64_t>> sizes; // leader, size
    DenseMap<size_t, size_t> slot;
    for (size_t i = 0; i < functions_.size(); ++i)
      if (isNode(*functions_[i])) {
        size_t leader = groups.getLeaderValue(i);
        auto [it, inserted] = slot.try_emplace(leader, sizes.size());
        if (inserted)
          sizes.push_back({leader, 0});
        sizes[it->second].second += inlinedSize(*functions_[i]);
      }
    int64_t total = 0;
    for (auto &entry : sizes)
      total += entry.second;
    // A small module is one part, its pooled kernels compiled beside it
    // (and found in the kernel cache by the next build that uses them).
    const int parts = total < kSplitSize ? 1 : kParts;
    // Largest first onto the lighter part; the group of any external
    // function (the forward functions) on part 0, beside the globals.
    DenseMap<size_t, int> partOf;
    for (size_t i = 0; i < functions_.size(); ++i)
      if (isNode(*functions_[i]) && !functions_[i]->hasLocalLinkage())
        if (auto it = slot.find(groups.getLeaderValue(i)); it != slot.end() && !partOf.count(it->first))
          partOf[it->first] = 0, plan.size[0] += sizes[it->second].second;
    std::vector<size_t> order(sizes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a].second > sizes[b].second; });
    for (size_t g : order) {
      if (partOf.count(sizes[g].first))
        continue;
      int part = int(std::min_element(plan.size.begin(), plan.size.begin() + parts) - plan.size.begin());
      partOf[sizes[g].first] = part;
      plan.size[part] += sizes[g].second;
    }
    plan.parts = parts;
    for (size_t i = 0; i < functions_.size(); ++i)
      if (isNode(*functions_[i]))
        plan.functionPart[i] = partOf[groups.getLeaderValue(i)];
      else if (isPooled(*functions_[i]))
        plan.functionPart[i] = kPooled, plan.pooled[functions_[i]->getName()] = inlinedSize(*functions_[i]);
    for (size_t i = 0; i < globals_.size(); ++i)
      if (isCopiedConstant(*globals_[i]))
        plan.globalPart[i] = kCopied;
    // What is referenced from another part (or from a copied function,
    // which may be in any part) is shared.
    for (size_t i = 0; i < functions_.size(); ++i)
      if (plan.functionPart[i] != kCopied)
        plan.functionShared[i] = usedOutside(*functions_[i], plan.functionPart[i], plan);
    for (size_t i = 0; i < globals_.size(); ++i)
      if (plan.globalPart[i] != kCopied)
        plan.globalShared[i] = usedOutside(*globals_[i], plan.globalPart[i], plan);
    for (size_t i = 0; i < functions_.size(); ++i)
      if (plan.functionShared[i] && functions_[i]->hasLocalLinkage())
        plan.localise.insert(functions_[i]->getName());
    for (size_t i = 0; i < globals_.size(); ++i)
      if (plan.globalShared[i] && globals_[i]->hasLocalLinkage())
        plan.localise.insert(globals_[i]->getName());
    return plan;
  }

private:
  // The kernels, noinline ones included: a dispatcher such as
  // packedDispatch refers to every variant of convRows, and only inlining
  // it with constant shapes shows which ones are live.
  // And the epilogues (always-inline, like the kernels they are passed
  // to): one is shared by every layer of its ops and channel rule, and
  // would otherwise tie all their tasks into one group.
  bool isCopied(const Function &f) const {
    return !f.isDeclaration() && f.hasLocalLinkage() &&
           (kernels_.contains(f.getName()) || f.hasFnAttribute(Attribute::AlwaysInline));
  }
  bool isNode(const Function &f) const { return !f.isDeclaration() && !isCopied(f); }
  // A noinline kernel (seqk_gemm_packed, a convRows or convPoint variant)
  // is not specialised to its callers: one copy serves every part.
  bool isPooled(const Function &f) const { return isCopied(f) && f.hasFnAttribute(Attribute::NoInline); }
  bool isCopiedConstant(const GlobalVariable &g) const {
    return g.isConstant() && g.hasInitializer() && g.hasLocalLinkage() && g.hasAtLeastLocalUnnamedAddr() &&
           module_.getDataLayout().getTypeAllocSize(g.getValueType()) <= kCopiedConstantBytes;
  }

  // The defined functions `f` calls, or whose address it passes where
  // inlining or function specialisation may turn it into a call: to a
  // kernel (an epilogue), to a function neither a declaration nor
  // noinline, or stores. (A task's address handed to the thread pool, or
  // to the noinline run_task, is not.)
  std::vector<const Function *> inlinable(const Function &f) const {
    std::vector<const Function *> found;
    auto add = [&](const Value *v) {
      if (const auto *g = dyn_cast<Function>(v->stripPointerCasts()); g && !g->isDeclaration())
        found.push_back(g);
    };
    for (const BasicBlock &block : f)
      for (const Instruction &inst : block) {
        const auto *call = dyn_cast<CallBase>(&inst);
        const Function *callee = call ? call->getCalledFunction() : nullptr;
        if (callee)
          add(callee);
        if (call && callee &&
            (callee->isDeclaration() || (callee->hasFnAttribute(Attribute::NoInline) && !isCopied(*callee))))
          continue;
        for (const Use &operand : inst.operands())
          if (!call || &operand != &call->getCalledOperandUse())
            add(operand.get());
      }
    return found;
  }

  static std::vector<const Function *> directCallees(const Function &f) {
    std::vector<const Function *> callees;
    for (const BasicBlock &block : f)
      for (const Instruction &inst : block)
        if (const auto *call = dyn_cast<CallBase>(&inst))
          if (const Function *callee = call->getCalledFunction(); callee && !callee->isDeclaration())
            callees.push_back(callee);
    return callees;
  }

  // Instructions after always-inlining the copied kernels it calls, and
  // the epilogues whose address it passes (once each: inlined where a
  // kernel calls them, or compiled on their own for a noinline one).
  int64_t inlinedSize(const Function &f) {
    if (auto it = sizes_.find(&f); it != sizes_.end())
      return it->second;
    sizes_[&f] = 0; // recursion: counted once
    int64_t size = instructionCount(f);
    DenseSet<const Function *> called;
    for (const Function *callee : directCallees(f))
      if (isCopied(*callee) && !callee->hasFnAttribute(Attribute::NoInline))
        size += inlinedSize(*callee), called.insert(callee);
    DenseSet<const Function *> passed;
    for (const Function *g : inlinable(f))
      if (isCopied(*g) && !kernels_.contains(g->getName()) && !called.count(g) && passed.insert(g).second)
        size += inlinedSize(*g);
    sizes_[&f] = size;
    return size;
  }

  // Whether a use of `value` (owned by `part`) lies outside that part.
  bool usedOutside(const Constant &value, int part, const Plan &plan) {
    std::vector<const User *> stack(value.user_begin(), value.user_end());
    DenseSet<const User *> seen;
    while (!stack.empty()) {
      const User *user = stack.back();
      stack.pop_back();
      if (!seen.insert(user).second)
        continue;
      if (const auto *inst = dyn_cast<Instruction>(user)) {
        const Function *f = inst->getFunction();
        if (plan.functionPart[index_[f]] != part)
          return true;
      } else if (const auto *g = dyn_cast<GlobalVariable>(user)) {
        if (plan.globalPart[globalIndex_[g]] != part)
          return true;
      } else if (isa<Constant>(user)) {
        stack.insert(stack.end(), user->user_begin(), user->user_end());
      } else {
        return true;
      }
    }
    return false;
  }

  Module &module_;
  const StringSet<> &kernels_;
  std::vector<Function *> functions_;
  std::vector<GlobalVariable *> globals_;
  DenseMap<const Function *, size_t> index_;
  DenseMap<const GlobalVariable *, size_t> globalIndex_;
  DenseMap<const Function *, int64_t> sizes_;
};

void exportHidden(GlobalValue &value) {
  if (!value.hasLocalLinkage())
    return;
  value.setLinkage(GlobalValue::ExternalLinkage);
  value.setVisibility(GlobalValue::HiddenVisibility);
  value.setDSOLocal(true);
}

void declareElsewhere(GlobalValue &value) {
  if (value.hasLocalLinkage()) {
    value.setLinkage(GlobalValue::ExternalLinkage);
    value.setVisibility(GlobalValue::HiddenVisibility);
    value.setDSOLocal(true);
  } else {
    value.setLinkage(GlobalValue::ExternalLinkage);
  }
}

// Part `part` of the module: what another part owns becomes a declaration,
// what this part owns and another refers to becomes hidden. A pool part
// (part >= plan.parts) owns the pooled kernels in `live` (its share of
// those the parts still call once simplified); the others it keeps as
// copies, for the live ones that call them.
Error keepPart(Module &module, const Plan &plan, int part, const StringSet<> &live = {}) {
  if (module.size() != plan.functionPart.size() || module.global_size() != plan.globalPart.size())
    return createStringError(inconvertibleErrorCode(), "internal compiler error: a part's module lost functions");
  bool pool = part >= plan.parts;
  size_t i = 0;
  for (Function &f : module) {
    size_t k = i++;
    if (f.isDeclaration() || plan.functionPart[k] == kCopied)
      continue;
    if (pool && plan.functionPart[k] == kPooled) {
      if (live.contains(f.getName()))
        exportHidden(f);
      continue;
    }
    if (plan.functionPart[k] == part) {
      if (plan.functionShared[k])
        exportHidden(f);
      continue;
    }
    f.deleteBody();
    declareElsewhere(f);
  }
  i = 0;
  for (GlobalVariable &g : module.globals()) {
    size_t k = i++;
    if (plan.globalPart[k] == kCopied)
      continue;
    if (plan.globalPart[k] == part) {
      if (plan.globalShared[k])
        exportHidden(g);
      continue;
    }
    if (g.hasInitializer())
      g.setInitializer(nullptr);
    declareElsewhere(g);
  }
  // Drop what this part does not use before the pipeline works on it.
  PassBuilder builder;
  AnalysisManagers analyses(builder);
  GlobalDCEPass().run(module, analyses.module);
  return Error::success();
}

// The pooled kernels the parts still call once inlined and simplified,
// gathered for the pool's thread, which waits for every part's report.
class PoolLive {
public:
  explicit PoolLive(int parts) : pending_(parts) {}

  static void called(const Module &module, const StringMap<int64_t> &pooled, StringSet<> &into) {
    for (const Function &f : module)
      if (f.isDeclaration() && !f.use_empty() && pooled.contains(f.getName()))
        into.insert(f.getName());
  }
  void report(const Module &module, const StringMap<int64_t> &pooled) {
    std::lock_guard<std::mutex> lock(mutex_);
    called(module, pooled, live_);
    if (--pending_ == 0)
      ready_.notify_all();
  }
  // Once per part that failed before reporting.
  void skip() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0)
      ready_.notify_all();
  }
  const StringSet<> &wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return pending_ == 0; });
    return live_;
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  int pending_;
  StringSet<> live_;
};

// The live pooled kernels split into kPoolParts shares of about equal
// size, largest first onto the lightest (names sorted: the same shares on
// every run).
std::array<StringSet<>, kPoolParts> poolShares(const StringSet<> &live, const StringMap<int64_t> &pooled) {
  std::vector<std::pair<int64_t, std::string>> kernels;
  for (const auto &name : live)
    kernels.push_back({pooled.lookup(name.getKey()), name.getKey().str()});
  std::sort(kernels.begin(), kernels.end(), [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::array<StringSet<>, kPoolParts> shares;
  std::array<int64_t, kPoolParts> size{};
  for (const auto &[n, name] : kernels) {
    int share = int(std::min_element(size.begin(), size.end()) - size.begin());
    shares[size_t(share)].insert(name);
    size[size_t(share)] += n;
  }
  return shares;
}

// `simplified`: sees the part between the pipeline's two halves (its
// pooled kernels are declarations); null for the pool. `calls`: the
// pooled kernels the optimised part calls. `kernelCache`: for a pool
// part, the directory of compiled pool parts (empty: none).
Error compilePart(StringRef bitcode, const Plan &plan, int part, const StringSet<> &live,
                  const ResolvedTarget &target, int optLevel, SmallVectorImpl<char> &object,
                  function_ref<void(Module &)> simplified, StringSet<> *calls = nullptr,
                  const std::string &kernelCache = {}, function_ref<void()> optimised = {}) {
  std::optional<JitCache> cached;
  if (part >= plan.parts && !kernelCache.empty()) {
    // Nothing of the model's is left in a pool part, not even its name: it
    // is the kernel library's (seqc's, which the cache key holds) pooled
    // kernels `live` and the kernels they call, so their names are its
    // key, and a hit costs no parse of the model's module (25 ms a share).
    std::vector<StringRef> names;
    for (const auto &name : live)
      names.push_back(name.getKey());
    std::sort(names.begin(), names.end());
    std::string identity = "pooled kernels\n";
    for (StringRef name : names)
      identity += name.str() + "\n";
    cached.emplace(kernelCache, identity, target, optLevel);
    if (std::unique_ptr<MemoryBuffer> hit = cached->load()) {
      object.assign(hit->getBufferStart(), hit->getBufferEnd());
      return Error::success();
    }
  }
  LLVMContext context;
  auto module = parseBitcodeFile(MemoryBufferRef(bitcode, "part"), context);
  if (!module)
    return module.takeError();
  if (Error e = keepPart(**module, plan, part, live))
    return e;
  if (part >= plan.parts) {
    (*module)->setSourceFileName("seqk");
    (*module)->setModuleIdentifier("seqk");
  }
  auto machine = createTargetMachine(target, optLevel);
  if (!machine)
    return machine.takeError();
  optimizeModule(**module, **machine, optLevel, /*prepare=*/false, simplified);
  if (calls)
    PoolLive::called(**module, plan.pooled, *calls);
  if (optimised)
    optimised();
  if (Error e = emitObject(**module, **machine, object))
    return e;
  if (cached)
    cached->store(StringRef(object.data(), object.size()));
  return Error::success();
}

Error compileWhole(Module &module, TargetMachine &machine, int optLevel, SmallVectorImpl<char> &object,
                   const char *emitStage) {
  std::optional<StageScope> stage(std::in_place, "LLVM optimise");
  optimizeModule(module, machine, optLevel, /*prepare=*/false);
  stage.emplace(emitStage);
  return emitObject(module, machine, object);
}

std::optional<Plan> planSplit(Module &module, const ResolvedTarget &target, int optLevel) {
  if (!splittable(module, target, optLevel))
    return std::nullopt;
  PassBuilder builder;
  AnalysisManagers analyses(builder);
  GlobalDCEPass().run(module, analyses.module);
  Plan plan = Planner(module, target).plan();
  if (plan.parts < 2 && plan.pooled.empty())
    return std::nullopt;
  return plan;
}

} // namespace

int plannedParts(Module &module, const ResolvedTarget &target, int optLevel) {
  prepareModule(module, optLevel);
  std::optional<Plan> plan = planSplit(module, target, optLevel);
  return plan ? plan->parts : 1;
}

Error compileModule(Module &module, TargetMachine &machine, const ResolvedTarget &target, int optLevel,
                    SmallVectorImpl<char> &object, const char *emitStage, const std::string &kernelCache) {
  std::optional<StageScope> stage(std::in_place, "prepare");
  prepareModule(module, optLevel);
  std::optional<Plan> plan = planSplit(module, target, optLevel);
  if (!plan) {
    stage.reset();
    return compileWhole(module, machine, optLevel, object, emitStage);
  }
  SmallVector<char, 0> bitcode;
  {
    raw_svector_ostream out(bitcode);
    WriteBitcodeToFile(module, out);
  }
  StringRef bits(bitcode.data(), bitcode.size());
  // One part: its stages as for a module compiled whole (the pool's
  // threads beside them, waited for in the second).
  const bool onePart = plan->parts == 1;
  stage.emplace(onePart ? "LLVM optimise" : "optimise+emit x2");
  // The parts, then the pool's.
  std::vector<SmallVector<char, 0>> objects(plan->parts + kPoolParts);
  std::vector<std::string> errors(plan->parts + kPoolParts);
  PoolLive pool(plan->parts);
  std::vector<StringSet<>> calls(plan->parts);
  auto run = [&](int p) {
    bool reported = false;
    auto optimised = [&] {
      if (onePart)
        stage.emplace(emitStage);
    };
    if (Error e = compilePart(bits, *plan, p, {}, target, optLevel, objects[p], [&](Module &m) {
          pool.report(m, plan->pooled);
          reported = true;
        }, &calls[p], {}, optimised))
      errors[p] = toString(std::move(e));
    if (!reported)
      pool.skip();
  };
  std::once_flag sharesOnce;
  std::array<StringSet<>, kPoolParts> shares;
  auto runPool = [&](int share) {
    const StringSet<> &live = pool.wait();
    std::call_once(sharesOnce, [&] { shares = poolShares(live, plan->pooled); });
    int p = plan->parts + share;
    if (!shares[size_t(share)].empty())
      if (Error e = compilePart(bits, *plan, p, shares[size_t(share)], target, optLevel, objects[p], nullptr,
                                nullptr, kernelCache))
        errors[p] = toString(std::move(e));
  };
  {
    // Part 0 on this thread, the others and the pool on their own (the
    // pool's from when the parts are simplified, beside their second
    // halves and code generation).
    std::vector<std::thread> threads;
    for (int p = 1; p < plan->parts; ++p)
      threads.emplace_back(run, p);
    for (int share = 0; share < kPoolParts; ++share)
      threads.emplace_back(runPool, share);
    run(0);
    for (std::thread &t : threads)
      t.join();
  }
  for (const std::string &error : errors)
    if (!error.empty())
      return createStringError(inconvertibleErrorCode(), "%s", error.c_str());
  // The pipeline's second half only deletes calls; were it to add one,
  // the object would miss that kernel.
  const StringSet<> &live = pool.wait();
  for (const StringSet<> &called : calls)
    for (const auto &name : called)
      if (!live.contains(name.getKey()))
        return createStringError(inconvertibleErrorCode(),
                                 "internal compiler error: the kernel '%s' is called but not compiled",
                                 name.getKey().str().c_str());
  stage.emplace("join");
  std::vector<MemoryBufferRef> refs;
  for (const auto &o : objects)
    if (!o.empty())
      refs.emplace_back(StringRef(o.data(), o.size()), "part.o");
  return mergeElfObjects(refs, plan->localise, object);
}

} // namespace seq::codegen

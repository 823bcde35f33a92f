// LlvmGen: the state shared while one model's module is generated (inside
// codegen/ only). LlvmGen owns the forward function and knows where every
// tensor lives in it; Task wraps one parallel loop: an internal function
// `void task(void *closure, int64_t begin, int64_t end)` plus the closure
// the forward function fills and hands to seqrt_parallel_for.
//
// Module layout, for prefix "mlp":
//   mlp_forward        the exported forward function (generated-code.md)
//   mlp_model          the constant seqrt_model (ModelGlobal.cpp)
//   mlp_jit_forward    (JIT only) forward with an array of input pointers
//   mlp.N.<kind>.task  one or two tasks per node N
//   mlp.N.<kind>.epi   the epilogue of node N (Epilogue.cpp)
//   seqk_*             the kernel library, internal and always-inline
#pragma once

#include "ir/Graph.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace seq::codegen {

// An internal error of the code generator (a broken IR invariant, a kernel
// missing from the bitcode). Thrown inside the generator only and turned
// into an llvm::Error by buildModule, so the node generators stay free of
// error plumbing.
struct CodegenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string &message);

// An op's cost in elementary steps, `perBatch * batch + fixed`; decides
// whether a loop is worth handing to the thread pool.
struct Work {
  int64_t perBatch = 0;
  int64_t fixed = 0;
};

// Loops below this many steps run on the calling thread: handing work to
// the pool costs a few microseconds, about this much work on one core.
constexpr int64_t kParallelWork = 1 << 16;
// The steps of work one float copied through the cache counts for (a
// padded copy, an im2col): a load and a store cost about as much as 8
// multiply-adds (ResNet64's 32 x 34 x 34 padded copies took 15 us on one
// core), so that such a copy is split over the threads instead of holding
// the others at the next layer.
constexpr int64_t kCopyStepsPerFloat = 8;

// Samples per granule of a batch slice, or 0 when the graph does not run
// in slices of its batch (BatchSchedule.cpp).
int64_t sliceGranule(const ir::Graph &g);

// The seqrt_status of success; seqrt_forward_begin returns the others.
constexpr int32_t kStatusOk = 0;

class LlvmGen {
public:
  // `modelGlobal`: the `<prefix>_model` constant; `weightsGlobal`: the
  // embedded packed buffer (used when the weights argument is NULL), or
  // null.
  LlvmGen(const ir::Graph &graph, llvm::Module &module, llvm::GlobalVariable *modelGlobal,
          llvm::GlobalVariable *weightsGlobal);

  // Emits `<prefix>_forward(weights, inputs..., output, batch, ctx)`:
  // argument checks (seqrt_forward_begin), every node.
  llvm::Function *emitForward();
  // TargetOptions::profile: marks before each node (and at the end), the
  // nodes over the whole batch on the calling thread's schedule.
  void setProfile(bool on) { profile_ = on; }
  // Emits `<prefix>_jit_forward(weights, const float *const *inputs,
  // output, batch, ctx)`, which calls the forward function.
  void emitJitWrapper(llvm::Function *forward);

  // ---- for the node generators -------------------------------------------
  const ir::Graph &graph() const { return graph_; }
  llvm::Module &module() { return module_; }
  llvm::LLVMContext &context() { return module_.getContext(); }
  // The builder positioned in the forward function.
  llvm::IRBuilder<> &fwd() { return fwd_; }
  // The run-time batch (i64) in the forward function.
  llvm::Value *batch() { return batch_; }
  llvm::Value *contextArg() { return ctx_; }
  // Forward-side pointers: a value's first element, packed tensor `id` in
  // the weight buffer (null constant for -1), node `node`'s scratch.
  llvm::Value *valuePtr(int valueId);
  llvm::Value *weights() { return weights_; }
  llvm::Value *packedPtr(int packedId);
  // Packed tensor `id`'s offset in floats (set by PlanWeights).
  int64_t packedOffset(int packedId) const;
  llvm::Value *scratchPtr(int node);
  // Product of shape.dims[0..count) as an i64 in the forward function,
  // the batch substituted: the number of rows of a [rows, rest] view.
  llvm::Value *leadingExtent(const ir::Shape &shape, size_t count);
  // `perElement` steps for each element of `shape`.
  static Work workOf(const ir::Shape &shape, int64_t perElement);
  // A function of the linked kernel library (seqk_*) or the runtime.
  llvm::Function *kernel(llvm::StringRef name);
  llvm::FunctionCallee runtimeFn(llvm::StringRef name);
  // The shared function that runs a task inline or on the pool, as an i1
  // computed at run time says (Task::run).
  llvm::Function *runTaskFn();
  // "<prefix>.<node>.<kind>.<suffix>", for the functions of a node.
  std::string nodeSymbol(int node, llvm::StringRef suffix) const;

  llvm::Type *f32() { return llvm::Type::getFloatTy(context()); }
  llvm::IntegerType *i64() { return llvm::Type::getInt64Ty(context()); }
  llvm::PointerType *ptr() { return llvm::PointerType::getUnqual(context()); }
  // &base[index] for floats.
  static llvm::Value *floatGep(llvm::IRBuilder<> &b, llvm::Value *base, llvm::Value *index,
                               const llvm::Twine &name = "");
  static llvm::Value *floatGep(llvm::IRBuilder<> &b, llvm::Value *base, int64_t index,
                               const llvm::Twine &name = "");

private:
  void emitChecks();
  void emitNode(size_t index);
  void emitNodes();
  void emitSegment(size_t first, size_t last);
  llvm::Function *nodesFunction(const llvm::Twine &name);
  std::vector<llvm::Value *> nodesArgs();
  void emitInto(llvm::Function *fn, llvm::function_ref<void()> emit);
  void emitImageByImage();
  // The most images a group takes, on the machine the forward runs on.
  llvm::Value *maxImageGroup();
  // Batch slices (see LlvmGen.cpp): the nodes in a function of their own,
  // called on the whole batch or, for a large enough batch, on slices of
  // it in parallel.
  void emitSliced(int64_t granule);
  llvm::Function *emitSliceTask(llvm::Function *body, int64_t granule);

  const ir::Graph &graph_;
  llvm::Module &module_;
  bool profile_ = false;
  // seqc_profile_mark(node) in the forward side's builder (-1: the end).
  void emitProfileMark(int64_t node);
  llvm::GlobalVariable *modelGlobal_;
  llvm::GlobalVariable *weightsGlobal_;
  llvm::IRBuilder<> fwd_;
  llvm::Function *forward_ = nullptr;
  llvm::Value *weightsArg_ = nullptr; // the seqrt_weights handle
  llvm::Value *weights_ = nullptr, *output_ = nullptr, *batch_ = nullptr, *ctx_ = nullptr;
  llvm::Value *workspace_ = nullptr;
  // The base of the workspace's fixed region (scratch with no per-batch
  // part): workspace_, or a batch slice's own copy of it.
  llvm::Value *fixed_ = nullptr;
  llvm::Function *runTask_ = nullptr;
  std::vector<llvm::Value *> inputs_;
  // The head's region (ir::Storage::Head) and where this function's images
  // start in it: a value's image `headFirst_ + i` at headBase_ +
  // headBatch_ * offset + (headFirst_ + i) * its bytes. Null, and 0, 0,
  // when the graph has no head.
  llvm::Value *headBase_ = nullptr, *headBatch_ = nullptr, *headFirst_ = nullptr;
  // Appends the head's three arguments of a nodesFunction call.
  void appendHeadArgs(std::vector<llvm::Value *> &args, llvm::Value *base, llvm::Value *batch, llvm::Value *first);
  // Nodes [first, last) in order, in segments when they are many.
  void emitNodeRange(size_t first, size_t last);
};

// One parallel loop of a node. Usage:
//   Task t(gen, node, "gemm");
//   llvm::Value *x = t.capture(gen.valuePtr(id)); // forward value -> task value
//   ... emit the body with t.b(), over [t.begin(), t.end()) ...
//   t.run(count, work);                           // in the forward function
class Task {
public:
  Task(LlvmGen &gen, int node, llvm::StringRef suffix);

  // A pointer or i64 computed in the forward function, reloaded from the
  // closure at the task's entry; returns the task-side value.
  llvm::Value *capture(llvm::Value *forwardValue, const llvm::Twine &name = "");
  // The builder positioned in the task body.
  llvm::IRBuilder<> &b() { return body_; }
  llvm::Value *begin() const { return begin_; }
  llvm::Value *end() const { return end_; }
  llvm::Function *function() const { return fn_; }
  // The task entry's terminator: code inserted before it runs once per
  // task call, after the captured values are loaded.
  llvm::Instruction *entryEnd() { return entry_->getTerminator(); }
  // An alloca in the task's entry block.
  llvm::AllocaInst *entryAlloca(llvm::Type *type, const llvm::Twine &name);
  // The weight buffer inside the task (captured on first use).
  llvm::Value *weights();
  LlvmGen &gen() { return gen_; }

  // Closes the body, then, in the forward function, runs the task over
  // [0, count): directly when `work` is small (a parallel loop costs a few
  // microseconds), otherwise through seqrt_parallel_for.
  void run(llvm::Value *count, Work work);

private:
  LlvmGen &gen_;
  llvm::Function *fn_;
  llvm::BasicBlock *entry_;
  llvm::IRBuilder<> body_;
  llvm::Value *closureArg_, *begin_, *end_;
  std::vector<llvm::Value *> captured_; // forward-side values, slot order
  llvm::Value *weights_ = nullptr;
};

} // namespace seq::codegen

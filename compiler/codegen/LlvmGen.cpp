// LlvmGen: the forward function (argument checks, workspace, one call per
// node) and the helpers node generators share; Task, the parallel loop of a
// node.
#include "codegen/LlvmGen.h"
#include "ir/Liveness.h"

#include "codegen/NodeGen.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

void fail(const std::string &message) { throw CodegenError(message); }

// Nodes per function of a long forward pass (emitSegment).
constexpr size_t kSegmentNodes = 64;

LlvmGen::LlvmGen(const ir::Graph &graph, Module &module, GlobalVariable *modelGlobal, GlobalVariable *weightsGlobal)
    : graph_(graph), module_(module), modelGlobal_(modelGlobal), weightsGlobal_(weightsGlobal),
      fwd_(module.getContext()) {}

// ---- Addresses ------------------------------------------------------------

Value *LlvmGen::floatGep(IRBuilder<> &b, Value *base, Value *index, const Twine &name) {
  return b.CreateInBoundsGEP(b.getFloatTy(), base, index, name);
}

Value *LlvmGen::floatGep(IRBuilder<> &b, Value *base, int64_t index, const Twine &name) {
  return floatGep(b, base, b.getInt64(index), name);
}

Value *LlvmGen::valuePtr(int valueId) {
  const ir::Value &v = graph_.storageOf(valueId);
  // a concat's input written in place (ir::Storage::Slice): its bytes in
  // the concat's output
  if (int64_t offset = graph_.storageOffset(valueId))
    return fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), valuePtr(v.id), fwd_.getInt64(offset),
                                  graph_.value(valueId).name);
  switch (v.storage) {
  case ir::Storage::Input:
    if (v.inputIndex < 0 || size_t(v.inputIndex) >= inputs_.size())
      fail("value '" + v.name + "' is an input without a valid input index");
    return inputs_[size_t(v.inputIndex)];
  case ir::Storage::Output:
    return output_;
  case ir::Storage::Workspace: {
    if (!workspace_)
      fail("value '" + v.name + "' lives in a workspace of size 0");
    Value *offset = fwd_.CreateAdd(fwd_.CreateMul(batch_, fwd_.getInt64(v.offsetPerBatch)),
                                   fwd_.getInt64(v.offsetFixed));
    return fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), workspace_, offset, v.name);
  }
  case ir::Storage::Head: {
    if (!headBase_)
      fail("value '" + v.name + "' lives in the head's region, which this function does not reach");
    Value *offset = fwd_.CreateAdd(fwd_.CreateMul(headBatch_, fwd_.getInt64(v.offsetPerBatch)),
                                   fwd_.CreateMul(headFirst_, fwd_.getInt64(ir::valueBytes(graph_, v.id))));
    return fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), headBase_, offset, v.name);
  }
  case ir::Storage::Alias:
  case ir::Storage::Slice:
    break;
  }
  fail("value '" + v.name + "' has no storage");
}

int64_t LlvmGen::packedOffset(int packedId) const {
  if (packedId < 0 || size_t(packedId) >= graph_.packed.size())
    fail("packed tensor " + std::to_string(packedId) + " does not exist");
  const ir::Packed &p = graph_.packed[size_t(packedId)];
  if (p.offset < 0 || p.offset + p.size > graph_.packedSize)
    fail("packed tensor '" + p.name + "' has no place in the weight buffer");
  return p.offset;
}

Value *LlvmGen::packedPtr(int packedId) {
  if (packedId < 0)
    return ConstantPointerNull::get(ptr());
  return floatGep(fwd_, weights_, packedOffset(packedId));
}

Value *LlvmGen::scratchPtr(int node) {
  for (const ir::Scratch &s : graph_.scratch)
    if (s.node == node && workspace_) {
      if (s.bytesPerBatch == 0) // in the fixed region
        return fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), fixed_, fwd_.getInt64(s.offsetFixed), "scratch");
      Value *offset = fwd_.CreateAdd(fwd_.CreateMul(batch_, fwd_.getInt64(s.offsetPerBatch)),
                                     fwd_.getInt64(s.offsetFixed));
      return fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), workspace_, offset, "scratch");
    }
  fail("node '" + graph_.nodes[size_t(node)].name + "' needs scratch memory but has none");
}

Value *LlvmGen::leadingExtent(const ir::Shape &shape, size_t count) {
  Value *extent = fwd_.getInt64(1);
  for (size_t i = 0; i < count && i < shape.rank(); ++i) {
    Value *dim = shape.dims[i] == ir::kBatch ? batch_ : fwd_.getInt64(shape.dims[i]);
    extent = fwd_.CreateMul(extent, dim, "", /*HasNUW=*/true, /*HasNSW=*/true);
  }
  return extent;
}

Work LlvmGen::workOf(const ir::Shape &shape, int64_t perElement) {
  int64_t elements = shape.elementsPerBatch() * perElement;
  return shape.batched() ? Work{elements, 0} : Work{0, elements};
}

Function *LlvmGen::kernel(StringRef name) {
  Function *fn = module_.getFunction(name);
  if (!fn || fn->isDeclaration())
    fail("the kernel library has no '" + name.str() + "'");
  return fn;
}

FunctionCallee LlvmGen::runtimeFn(StringRef name) {
  LLVMContext &ctx = context();
  Type *sizeT = module_.getDataLayout().getIntPtrType(ctx);
  FunctionType *type = nullptr;
  if (name == "seqrt_forward_begin")
    type = FunctionType::get(Type::getInt32Ty(ctx), {ptr(), ptr(), ptr(), ptr(), ptr(), i64(), ptr(), ptr(), ptr()},
                             false);
  else if (name == "seqrt_forward_end")
    type = FunctionType::get(Type::getVoidTy(ctx), {ptr()}, false);
  else if (name == "seqrt_context_workspace")
    type = FunctionType::get(ptr(), {ptr(), sizeT}, false);
  else if (name == "seqrt_context_threads")
    type = FunctionType::get(Type::getInt32Ty(ctx), {ptr()}, false);
  else if (name == "seqrt_l2_cache_bytes")
    type = FunctionType::get(i64(), {}, false);
  else if (name == "seqrt_parallel_for")
    type = FunctionType::get(Type::getVoidTy(ctx), {ptr(), i64(), ptr(), ptr()}, false);
  else
    fail("unknown runtime function '" + name.str() + "'");
  FunctionCallee callee = module_.getOrInsertFunction(name, type);
  cast<Function>(callee.getCallee())->addFnAttr(Attribute::NoUnwind);
  return callee;
}

std::string LlvmGen::nodeSymbol(int node, StringRef suffix) const {
  const ir::Node &n = graph_.nodes[size_t(node)];
  return graph_.symbolPrefix + "." + std::to_string(node) + "." + ir::name(n.kind) + "." + suffix.str();
}

// ---- The forward function ------------------------------------------------

// Returns `status` from the forward function when `cond` holds.
static void returnStatusIf(IRBuilder<> &b, Value *cond, Value *status, const Twine &name) {
  Function *fn = b.GetInsertBlock()->getParent();
  BasicBlock *ret = BasicBlock::Create(b.getContext(), name, fn);
  BasicBlock *next = BasicBlock::Create(b.getContext(), name + ".ok", fn);
  b.CreateCondBr(cond, ret, next);
  b.SetInsertPoint(ret);
  b.CreateRet(status);
  b.SetInsertPoint(next);
}

// The forward function begins with one call to the runtime,
// seqrt_forward_begin, which checks every argument, sets the last error
// when one is wrong, and hands back the weights and the workspace to use.
void LlvmGen::emitChecks() {
  IRBuilder<> &b = fwd_;
  IRBuilder<> entry(&forward_->getEntryBlock(), forward_->getEntryBlock().begin());
  Value *inputs = entry.CreateAlloca(ArrayType::get(ptr(), std::max<size_t>(1, inputs_.size())), nullptr, "inputs");
  Value *packedSlot = entry.CreateAlloca(ptr(), nullptr, "packed.slot");
  Value *workspaceSlot = entry.CreateAlloca(ptr(), nullptr, "workspace.slot");
  for (size_t i = 0; i < inputs_.size(); ++i)
    b.CreateStore(inputs_[i], b.CreateConstInBoundsGEP1_64(ptr(), inputs, i));
  Value *embedded = weightsGlobal_ ? static_cast<Value *>(weightsGlobal_) : ConstantPointerNull::get(ptr());
  Value *status = b.CreateCall(runtimeFn("seqrt_forward_begin"),
                               {modelGlobal_, weightsArg_, embedded, inputs, output_, batch_, ctx_, packedSlot,
                                workspaceSlot},
                               "status");
  returnStatusIf(b, b.CreateICmpNE(status, b.getInt32(kStatusOk)), status, "bad_call");
  returnStatusIf(b, b.CreateICmpEQ(batch_, b.getInt64(0)), b.getInt32(kStatusOk), "empty_batch");
  weights_ = b.CreateLoad(ptr(), packedSlot, "weights");
  if (graph_.workspacePerBatch != 0 || graph_.workspaceFixed != 0)
    workspace_ = b.CreateLoad(ptr(), workspaceSlot, "workspace");
  fixed_ = workspace_;
}

Function *LlvmGen::emitForward() {
  LLVMContext &ctx = context();
  std::vector<Type *> params = {ptr()};
  std::vector<std::string> names = {"weights"};
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    params.push_back(ptr());
    names.push_back(i < graph_.inputNames.size() ? graph_.inputNames[i] : "in" + std::to_string(i));
  }
  params.insert(params.end(), {ptr(), i64(), ptr()});
  names.insert(names.end(), {"output", "batch", "ctx"});

  auto *type = FunctionType::get(Type::getInt32Ty(ctx), params, false);
  forward_ = Function::Create(type, GlobalValue::ExternalLinkage, graph_.symbolPrefix + "_forward", module_);
  forward_->addFnAttr(Attribute::NoUnwind);
  for (unsigned i = 0; i < forward_->arg_size(); ++i)
    forward_->getArg(i)->setName(names[i]);

  unsigned arg = 0;
  weightsArg_ = forward_->getArg(arg++);
  for (size_t i = 0; i < graph_.inputs.size(); ++i)
    inputs_.push_back(forward_->getArg(arg++));
  output_ = forward_->getArg(arg++);
  batch_ = forward_->getArg(arg++);
  ctx_ = forward_->getArg(arg++);

  fwd_.SetInsertPoint(BasicBlock::Create(ctx, "entry", forward_));
  emitChecks();
  if (graph_.imageSlotBytes)
    emitImageByImage();
  else if (int64_t granule = sliceGranule(graph_))
    emitSliced(granule);
  else
    emitNodes();
  if (profile_)
    emitProfileMark(-1);
  // the call's time, for the context's choice of threads (seqrt.h)
  fwd_.CreateCall(runtimeFn("seqrt_forward_end"), {ctx_});
  fwd_.CreateRet(fwd_.getInt32(kStatusOk));
  return forward_;
}

void LlvmGen::emitNodes() { emitNodeRange(0, graph_.nodes.size()); }

void LlvmGen::emitNodeRange(size_t first, size_t last) {
  if (last - first <= kSegmentNodes) {
    for (size_t i = first; i < last; ++i)
      emitNode(i);
  } else {
    for (size_t i = first; i < last; i += kSegmentNodes)
      emitSegment(i, std::min(last, i + kSegmentNodes));
  }
}

void LlvmGen::appendHeadArgs(std::vector<Value *> &args, Value *base, Value *batch, Value *first) {
  args.push_back(base ? base : ConstantPointerNull::get(ptr()));
  args.push_back(batch ? batch : fwd_.getInt64(0));
  args.push_back(first ? first : fwd_.getInt64(0));
}

// A function of the nodes' arguments: (weights, output, batch, ctx,
// workspace, fixed, inputs..., head, head batch, head first), internal
// and never inlined.
Function *LlvmGen::nodesFunction(const Twine &name) {
  std::vector<Type *> types = {ptr(), ptr(), i64(), ptr(), ptr(), ptr()};
  types.insert(types.end(), inputs_.size(), ptr());
  types.insert(types.end(), {ptr(), i64(), i64()});
  Function *fn = Function::Create(FunctionType::get(Type::getVoidTy(context()), types, false),
                                  GlobalValue::InternalLinkage, name, module_);
  fn->addFnAttr(Attribute::NoUnwind);
  fn->addFnAttr(Attribute::NoInline);
  return fn;
}

// The arguments to call a nodesFunction with the forward side's values.
std::vector<Value *> LlvmGen::nodesArgs() {
  Value *null = ConstantPointerNull::get(ptr());
  std::vector<Value *> args = {weights_, output_, batch_, ctx_, workspace_ ? workspace_ : null,
                               fixed_ ? fixed_ : null};
  args.insert(args.end(), inputs_.begin(), inputs_.end());
  appendHeadArgs(args, headBase_, headBatch_, headFirst_);
  return args;
}

// Runs `emit` with the builder in the body of `fn` (a nodesFunction) and
// every value the node generators use rebound to its arguments (a value
// of the caller is not visible there); then restores them.
void LlvmGen::emitInto(Function *fn, function_ref<void()> emit) {
  struct Saved {
    Value *weights, *output, *batch, *ctx, *workspace, *fixed;
    std::vector<Value *> inputs;
    Value *headBase, *headBatch, *headFirst;
    BasicBlock *block;
  } saved{weights_, output_, batch_, ctx_, workspace_, fixed_, inputs_,
          headBase_, headBatch_, headFirst_, fwd_.GetInsertBlock()};
  weights_ = fn->getArg(0);
  output_ = fn->getArg(1);
  batch_ = fn->getArg(2);
  ctx_ = fn->getArg(3);
  if (workspace_) {
    workspace_ = fn->getArg(4);
    fixed_ = fn->getArg(5);
  }
  for (size_t i = 0; i < inputs_.size(); ++i)
    inputs_[i] = fn->getArg(unsigned(6 + i));
  if (headBase_) {
    unsigned h = unsigned(6 + inputs_.size());
    headBase_ = fn->getArg(h);
    headBatch_ = fn->getArg(h + 1);
    headFirst_ = fn->getArg(h + 2);
  }
  fwd_.SetInsertPoint(BasicBlock::Create(context(), "entry", fn));
  emit();
  fwd_.CreateRetVoid();
  weights_ = saved.weights;
  output_ = saved.output;
  batch_ = saved.batch;
  ctx_ = saved.ctx;
  workspace_ = saved.workspace;
  fixed_ = saved.fixed;
  inputs_ = saved.inputs;
  headBase_ = saved.headBase;
  headBatch_ = saved.headBatch;
  headFirst_ = saved.headFirst;
  fwd_.SetInsertPoint(saved.block);
}

// Nodes [first, last) in a function of their own, called from the
// forward function with the values every node may use. Keeps each function
// small: the register allocator's cost grows faster than linearly with the
// size of one function, and a deep model's forward function is long.
void LlvmGen::emitSegment(size_t first, size_t last) {
  Function *fn = nodesFunction(graph_.symbolPrefix + ".nodes." + std::to_string(first));
  fwd_.CreateCall(fn, nodesArgs());
  emitInto(fn, [&] {
    for (size_t i = first; i < last; ++i)
      emitNode(i);
  });
}

void LlvmGen::emitProfileMark(int64_t node) {
  FunctionCallee mark = module_.getOrInsertFunction(
      "seqc_profile_mark", FunctionType::get(Type::getVoidTy(context()), {i64()}, false));
  cast<Function>(mark.getCallee())->addFnAttr(Attribute::NoUnwind);
  fwd_.CreateCall(mark, {fwd_.getInt64(node)});
}

void LlvmGen::emitNode(size_t index) {
  const ir::Node &node = graph_.nodes[index];
  int i = int(index);
  if (profile_ && node.kind != ir::OpKind::Input)
    emitProfileMark(i);
  switch (node.kind) {
  case ir::OpKind::Linear: return genLinear(*this, i);
  case ir::OpKind::Conv2d: return genConv2d(*this, i);
  case ir::OpKind::Pad: return genPad(*this, i);
  case ir::OpKind::MaxPool2d:
  case ir::OpKind::AvgPool2d:
  case ir::OpKind::AdaptiveAvgPool2d:
  case ir::OpKind::AdaptiveMaxPool2d: return genPool(*this, i);
  case ir::OpKind::Permute: return genPermute(*this, i);
  case ir::OpKind::Slice: return genSlice(*this, i);
  case ir::OpKind::Reduce: return genReduce(*this, i);
  case ir::OpKind::LayerNorm: return genLayerNorm(*this, i);
  case ir::OpKind::Softmax: return genSoftmax(*this, i);
  case ir::OpKind::Unary:
  case ir::OpKind::Scalar:
  case ir::OpKind::BatchNorm:
  case ir::OpKind::Map: return genMap(*this, i);
  case ir::OpKind::Binary: return genBinary(*this, i);
  case ir::OpKind::Concat: return genConcat(*this, i);
  case ir::OpKind::Copy:
  case ir::OpKind::Identity:
  case ir::OpKind::Reshape: return genCopy(*this, i);
  case ir::OpKind::GroupNorm: return genGroupNorm(*this, i);
  case ir::OpKind::PRelu: return genPRelu(*this, i);
  case ir::OpKind::Upsample: return genUpsample(*this, i);
  case ir::OpKind::ConvTranspose2d: return genConvTranspose(*this, i);
  case ir::OpKind::Input: break;
  }
  fail(std::string("a node of kind '") + ir::name(node.kind) + "' cannot be generated");
}

// void run_task(ctx, count, fn, closure, i1 inline): fn over [0, count)
// on this thread when `inline`, else through seqrt_parallel_for.
Function *LlvmGen::runTaskFn() {
  if (runTask_)
    return runTask_;
  LLVMContext &ctx = context();
  auto *type = FunctionType::get(Type::getVoidTy(ctx), {ptr(), i64(), ptr(), ptr(), Type::getInt1Ty(ctx)}, false);
  runTask_ = Function::Create(type, GlobalValue::InternalLinkage, graph_.symbolPrefix + ".run_task", module_);
  runTask_->addFnAttr(Attribute::NoUnwind);
  runTask_->addFnAttr(Attribute::NoInline);
  Argument *context = runTask_->getArg(0), *count = runTask_->getArg(1), *fn = runTask_->getArg(2),
           *closure = runTask_->getArg(3), *small = runTask_->getArg(4);
  BasicBlock *entry = BasicBlock::Create(ctx, "entry", runTask_);
  BasicBlock *here = BasicBlock::Create(ctx, "inline", runTask_);
  BasicBlock *pool = BasicBlock::Create(ctx, "parallel", runTask_);
  IRBuilder<> b(entry);
  b.CreateCondBr(small, here, pool);
  b.SetInsertPoint(here);
  auto *taskType = FunctionType::get(Type::getVoidTy(ctx), {ptr(), i64(), i64()}, false);
  b.CreateCall(taskType, fn, {closure, b.getInt64(0), count});
  b.CreateRetVoid();
  b.SetInsertPoint(pool);
  b.CreateCall(runtimeFn("seqrt_parallel_for"), {context, count, fn, closure});
  b.CreateRetVoid();
  return runTask_;
}

void LlvmGen::emitJitWrapper(Function *forward) {
  LLVMContext &ctx = context();
  std::vector<Type *> params = {ptr(), ptr(), ptr(), i64(), ptr()};
  auto *type = FunctionType::get(Type::getInt32Ty(ctx), params, false);
  Function *fn = Function::Create(type, GlobalValue::ExternalLinkage,
                                  graph_.symbolPrefix + "_jit_forward", module_);
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", fn));
  std::vector<Value *> args = {fn->getArg(0)};
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    Value *slot = b.CreateConstInBoundsGEP1_64(ptr(), fn->getArg(1), i);
    args.push_back(b.CreateLoad(ptr(), slot));
  }
  args.insert(args.end(), {fn->getArg(2), fn->getArg(3), fn->getArg(4)});
  b.CreateRet(b.CreateCall(forward, args));
}

// ---- Task -------------------------------------------------------------------

Task::Task(LlvmGen &gen, int node, StringRef suffix) : gen_(gen), body_(gen.context()) {
  LLVMContext &ctx = gen.context();
  auto *type = FunctionType::get(Type::getVoidTy(ctx), {gen.ptr(), gen.i64(), gen.i64()}, false);
  fn_ = Function::Create(type, GlobalValue::InternalLinkage, gen.nodeSymbol(node, suffix.str() + ".task"),
                         gen.module());
  fn_->addFnAttr(Attribute::NoUnwind);
  // Its address means nothing: the tasks of equal layers are equal
  // functions, and MergeFunctions keeps one (optimizeModule).
  fn_->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  closureArg_ = fn_->getArg(0);
  begin_ = fn_->getArg(1);
  end_ = fn_->getArg(2);
  closureArg_->setName("closure");
  begin_->setName("begin");
  end_->setName("end");
  entry_ = BasicBlock::Create(ctx, "entry", fn_);
  BasicBlock *body = BasicBlock::Create(ctx, "body", fn_);
  IRBuilder<>(entry_).CreateBr(body);
  body_.SetInsertPoint(body);
}

// The closure is an array of 8-byte slots, one per captured value (a
// pointer or an i64), so it needs no type until the last capture.
Value *Task::capture(Value *forwardValue, const Twine &name) {
  uint64_t slot = captured_.size();
  captured_.push_back(forwardValue);
  IRBuilder<> b(entry_->getTerminator());
  Value *address = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), closureArg_, slot);
  return b.CreateLoad(forwardValue->getType(), address, name);
}

AllocaInst *Task::entryAlloca(Type *type, const Twine &name) {
  IRBuilder<> b(entry_, entry_->begin());
  return b.CreateAlloca(type, nullptr, name);
}

Value *Task::weights() {
  if (!weights_)
    weights_ = capture(gen_.weights(), "weights");
  return weights_;
}

// Whether `work` is small enough to run on the calling thread: an i1 in
// the forward function, a constant unless it depends on the batch.
static Value *runsInline(IRBuilder<> &b, Value *batch, Work work) {
  if (work.perBatch <= 0)
    return b.getInt1(work.fixed < kParallelWork);
  if (work.fixed >= kParallelWork)
    return b.getFalse();
  // batch * perBatch + fixed < T  <=>  batch < ceil((T - fixed) / perBatch)
  int64_t limit = (kParallelWork - work.fixed + work.perBatch - 1) / work.perBatch;
  return b.CreateICmpSLT(batch, b.getInt64(limit));
}

void Task::run(Value *count, Work work) {
  body_.CreateRetVoid();
  IRBuilder<> &f = gen_.fwd();
  Function *forward = f.GetInsertBlock()->getParent();
  IRBuilder<> entry(&forward->getEntryBlock(), forward->getEntryBlock().begin());
  Type *slots = ArrayType::get(f.getInt64Ty(), std::max<size_t>(1, captured_.size()));
  Value *closure = entry.CreateAlloca(slots, nullptr, fn_->getName() + ".closure");
  for (size_t i = 0; i < captured_.size(); ++i)
    f.CreateStore(captured_[i], f.CreateConstInBoundsGEP1_64(f.getInt64Ty(), closure, i));

  auto callInline = [&] { f.CreateCall(fn_, {closure, f.getInt64(0), count}); };
  auto callParallel = [&] {
    f.CreateCall(gen_.runtimeFn("seqrt_parallel_for"), {gen_.contextArg(), count, fn_, closure});
  };
  Value *small = runsInline(f, gen_.batch(), work);
  if (auto *known = dyn_cast<ConstantInt>(small)) {
    known->isOne() ? callInline() : callParallel();
    return;
  }
  // Decided at run time, in one shared function: a branch per node in
  // the forward function would let jump threading duplicate the chain of
  // equal conditions of a deep model, quadratically.
  f.CreateCall(gen_.runTaskFn(), {gen_.contextArg(), count, fn_, closure, small});
}

} // namespace seq::codegen

// BatchSchedule: how the forward function spreads a batch over the
// threads when it does not simply split each node's loop: image by image
// (ir/ImageParallel.h), or in slices of the batch. Both run every node
// on a part of the batch inside one task, the nodes' own loops then
// inline (the pool is busy), so no thread waits for another between
// layers. docs/generated-code.md describes them for users.
#include "codegen/LlvmGen.h"
#include "codegen/LoopBuilder.h"

#include "ir/ImageParallel.h"
#include "ir/Liveness.h"

#include <algorithm>
#include <numeric>

namespace seq::codegen {

using namespace llvm;

// ---- Batch slices ----------------------------------------------------------
//
// A small model at a large batch (LeNet-5 at 64 images) spends its time in
// many short parallel loops, one per layer, and every loop ends in a join
// that waits for the slowest thread. Its weights stay in each core's L2
// and its samples are independent, so the forward function instead cuts
// the batch into slices, one parallel loop over them, each slice running
// every node on its own samples (their parallel loops run inline: the
// pool is busy), in its own part of the workspace: the per-batch region
// of its samples, and a copy of the fixed region on its stack.
//
// A graph is sliced when every value is batched (dims[0] is the batch),
// no node mixes samples (softmax, cat, slice or reduction along dim 0),
// its packed weights fit kSliceMaxWeights and its fixed workspace
// kSliceMaxFixed; at run time when the pool has two threads or more, the
// batch holds two slices of kSliceImages and the work is worth a loop.
constexpr int64_t kSliceMaxWeights = 1 << 20;    // bytes
constexpr int64_t kSliceMaxFixed = 64 << 10;     // bytes of stack
constexpr int64_t kSliceImages = 8;              // samples per slice, at least
constexpr int64_t kSlicesPerThread = 2;          // for balance
constexpr int64_t kSliceAlignment = 64;          // bytes: slices start on cache lines

namespace {

// Multiply-adds (ir::macsPerImage) plus one step per output element of
// every other node, per sample.
int64_t perSampleWork(const ir::Graph &g) {
  ir::ImageMacs macs = ir::macsPerImage(g);
  int64_t work = macs.conv + macs.linear;
  for (const ir::Node &node : g.nodes)
    if (node.kind != ir::OpKind::Linear && node.kind != ir::OpKind::Conv2d &&
        node.kind != ir::OpKind::ConvTranspose2d)
      work += g.value(node.output).shape.elementsPerBatch();
  return work;
}

} // namespace

// Samples per granule of a slice (its first sample is a multiple of it,
// so that every input, output and per-batch workspace slice starts on a
// cache line), or 0 when the graph cannot be sliced.
int64_t sliceGranule(const ir::Graph &g) {
  if (g.fixedBatch != 0 || !ir::isBatched(g) || g.packedSize * int64_t(sizeof(float)) > kSliceMaxWeights ||
      g.workspaceFixed > kSliceMaxFixed || g.workspacePerBatch % kSliceAlignment != 0)
    return 0;
  if (!ir::imagesIndependent(g)) // every sample computed from itself only
    return 0;
  int64_t granule = 1;
  auto align = [&](int64_t bytesPerSample) {
    int64_t step = kSliceAlignment / std::gcd(kSliceAlignment, bytesPerSample);
    granule = std::lcm(granule, step);
  };
  for (int input : g.inputs)
    align(ir::valueBytes(g, input));
  align(ir::valueBytes(g, g.output));
  return granule;
}

// ir::maxImageGroup on the L2 of the machine the forward runs on
// (seqrt_l2_cache_bytes): 1 when one image's activations fill it, else
// the group's budget (that L2 when the weights fit in one too, else
// ir::kImageGroupBytes) over the image's activations; 1 always when a
// concat takes its inputs in place.
Value *LlvmGen::maxImageGroup() {
  IRBuilder<> &f = fwd_;
  if (ir::oneImageAlways(graph_))
    return f.getInt64(1);
  Value *l2 = f.CreateCall(runtimeFn("seqrt_l2_cache_bytes"), {}, "l2");
  Value *perImage = f.getInt64(std::max<int64_t>(1, graph_.workspacePerBatch));
  Value *budget = ir::imageWeightsFitL2(graph_) ? l2 : f.getInt64(ir::kImageGroupBytes);
  Value *fits = f.CreateBinaryIntrinsic(Intrinsic::smax, f.getInt64(1), f.CreateSDiv(budget, perImage));
  return f.CreateSelect(f.CreateICmpSGE(perImage, l2), f.getInt64(1), fits, "group.max");
}

// The forward pass image by image (ir/ImageParallel.h), in groups of
// images. Every node goes into `<prefix>.images(weights, output, batch,
// ctx, slot, slot, inputs...)` (a nodesFunction whose workspace and fixed
// region are the slot), which computes `batch` images in a workspace slot
// laid out for that batch. The forward function picks the group G
// at run time: the batch split evenly over the threads, at most
// maxImageGroup() images (so that a group's activations stay in the
// caches while each weight is read once per group), and runs the
// ceil(B / G) groups as one parallel loop over S = min(threads, B / G)
// workspace slots: each call of its task claims a free slot (a byte a
// slot, compare-and-swap; first the slot of the share its groups start
// in, so that a thread that keeps its own share keeps its own slot) and
// runs its groups there one after the other, so no thread waits for
// another between layers; the nodes' own loops then run inline (the pool
// is busy). The pool gives each thread the groups of its contiguous
// share first, then lets it take those left at the end of another's: a
// core the host slows down no longer holds the batch back by its whole
// share. (With one task a thread over a fixed share, batch 16 on two
// threads beside a busy loop on the second core: the 64x64 ResNet 38.3
// ms, MobileNetV2 177; now 36.2 and 154, medians; on the idle machine
// the same within noise. Groups dealt out in turn left two threads uneven
// shares whenever G did not divide B / 2: MobileNetV2 at batch 16, G =
// 3, took 9 images on one thread and 7 on the other, 12% slower.) At
// most S calls run at once (S is the smaller of the threads and the
// groups), so a claim always finds a slot. One group (a batch of one, or
// one thread) runs inline and its nodes' loops use the pool as usual.
//
// The head (ir::Graph::headStart, PlanMemory): the nodes from there run
// after the images, once over the whole batch, in the forward function;
// the values they write or read from the images live in the head's
// region after the B slots (ir::Storage::Head), which the images function
// reaches through its last three arguments (the region, B, and its first
// image).
//
// The workspace: a call of batch B has B * imageSlotBytes bytes (the
// model's description says so), and the slots need S * (G *
// workspacePerBatch + workspaceFixed) <= B * (workspacePerBatch +
// workspaceFixed) as S * G <= B.
void LlvmGen::emitImageByImage() {
  LLVMContext &ctx = context();
  Value *null = ConstantPointerNull::get(ptr());
  // The head (ir::Graph::headStart), if any, runs after the images over
  // the whole batch, its region after the B slots.
  const size_t nodes = graph_.nodes.size();
  const size_t headStart = graph_.headStart >= 0 ? size_t(graph_.headStart) : nodes;
  Value *head = null;
  if (headStart < nodes) {
    if (!workspace_)
      fail("the head's values have no workspace to live in");
    head = fwd_.CreateInBoundsGEP(fwd_.getInt8Ty(), workspace_,
                                  fwd_.CreateMul(batch_, fwd_.getInt64(graph_.imageSlotBytes)), "head");
    headBase_ = head;
    headBatch_ = batch_;
    headFirst_ = fwd_.getInt64(0);
  }
  // images(weights, output, batch, ctx, slot, slot, inputs..., head, B,
  // first): the slot holds the fixed region too
  Function *images = nodesFunction(graph_.symbolPrefix + ".images");
  emitInto(images, [&] { emitNodeRange(0, headStart); });

  // Per image: floats of each input and of the output.
  std::vector<int64_t> inputFloats;
  for (int id : graph_.inputs)
    inputFloats.push_back(graph_.value(id).shape.elementsPerBatch());
  int64_t outputFloats = graph_.value(graph_.output).shape.elementsPerBatch();
  Value *forwardWorkspace = workspace_ ? workspace_ : null;

  // The task over groups of images: closure {weights, output, ctx,
  // workspace, batch, slots, group, slot bytes, head, slot flags, groups,
  // inputs...}, 8 bytes each. A call runs the groups [begin, end) in the
  // first free slot it claims, from its share's own on (see above).
  auto *taskType = FunctionType::get(Type::getVoidTy(ctx), {ptr(), i64(), i64()}, false);
  Function *task = Function::Create(taskType, GlobalValue::InternalLinkage, graph_.symbolPrefix + ".images.task",
                                    module_);
  task->addFnAttr(Attribute::NoUnwind);
  {
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", task));
    Value *closure = task->getArg(0), *begin = task->getArg(1), *end = task->getArg(2);
    auto field = [&](unsigned i, Type *type) {
      return b.CreateLoad(type, b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), closure, i));
    };
    Value *w = field(0, ptr()), *out = field(1, ptr()), *context = field(2, ptr()), *ws = field(3, ptr());
    Value *batch = field(4, i64()), *slots = field(5, i64()), *group = field(6, i64());
    Value *slotBytes = field(7, i64());
    Value *taskHead = field(8, ptr());
    Value *flags = field(9, ptr()), *groups = field(10, i64());
    std::vector<Value *> in;
    for (size_t i = 0; i < inputs_.size(); ++i)
      in.push_back(field(unsigned(11 + i), ptr()));
    // claim a slot: the flag of the share this call's groups belong to
    // (slots * begin / groups), else the next free one
    Value *own = b.CreateUDiv(b.CreateMul(begin, slots), groups, "slot.own");
    BasicBlock *entry = b.GetInsertBlock();
    BasicBlock *probe = BasicBlock::Create(ctx, "claim", task), *claimed = BasicBlock::Create(ctx, "claimed", task);
    b.CreateBr(probe);
    b.SetInsertPoint(probe);
    PHINode *index = b.CreatePHI(i64(), 2, "slot.index");
    index->addIncoming(own, entry);
    Value *flag = b.CreateInBoundsGEP(b.getInt8Ty(), flags, index);
    Value *swap = b.CreateAtomicCmpXchg(flag, b.getInt8(0), b.getInt8(1), MaybeAlign(1), AtomicOrdering::Acquire,
                                        AtomicOrdering::Monotonic);
    Value *next = b.CreateURem(b.CreateAdd(index, b.getInt64(1)), slots);
    index->addIncoming(next, probe);
    b.CreateCondBr(b.CreateExtractValue(swap, 1), claimed, probe);
    b.SetInsertPoint(claimed);
    Value *slot = b.CreateInBoundsGEP(b.getInt8Ty(), ws, b.CreateMul(index, slotBytes), "slot");
    Value *slotOrNull = workspace_ ? slot : null;
    emitLoop(b, begin, end, "group", [&](Value *g) {
      Value *first = b.CreateMul(g, group, "first");
      Value *count = b.CreateBinaryIntrinsic(Intrinsic::smin, group, b.CreateSub(batch, first));
      std::vector<Value *> args = {w, floatGep(b, out, b.CreateMul(first, b.getInt64(outputFloats))), count,
                                   context, slotOrNull, slotOrNull};
      for (size_t i = 0; i < in.size(); ++i)
        args.push_back(floatGep(b, in[i], b.CreateMul(first, b.getInt64(inputFloats[i]))));
      args.insert(args.end(), {taskHead, batch, first});
      b.CreateCall(images, args);
    });
    b.CreateAlignedStore(b.getInt8(0), flag, MaybeAlign(1))->setAtomic(AtomicOrdering::Release);
    b.CreateRetVoid();
  }

  // group = clamp(batch / threads, 1, maxGroup); slots = min(threads,
  // batch / group), one a thread at most: the groups run as a parallel
  // loop, each thread first the groups of its share, then those left of
  // another's
  IRBuilder<> &f = fwd_;
  Function *forward = f.GetInsertBlock()->getParent();
  Value *threads = f.CreateSExt(f.CreateCall(runtimeFn("seqrt_context_threads"), {ctx_}), i64());
  // (profiled: one group of the whole batch, its nodes in order on this thread)
  Value *group = profile_ ? f.CreateBinaryIntrinsic(Intrinsic::smax, f.getInt64(1), batch_, nullptr, "group")
                          : f.CreateBinaryIntrinsic(Intrinsic::smax, f.getInt64(1),
                                                    f.CreateBinaryIntrinsic(Intrinsic::smin,
                                                                            f.CreateSDiv(batch_, threads),
                                                                            maxImageGroup()),
                                                    nullptr, "group");
  Value *slots = f.CreateBinaryIntrinsic(Intrinsic::smin, threads, f.CreateSDiv(batch_, group), nullptr, "slots");
  Value *groups = f.CreateSDiv(f.CreateAdd(batch_, f.CreateSub(group, f.getInt64(1))), group, "groups");
  Value *slotBytes = f.CreateAdd(f.CreateMul(group, f.getInt64(graph_.workspacePerBatch)),
                                 f.getInt64(graph_.workspaceFixed), "slot.bytes");
  // a byte a slot, 1 while a task computes in it
  Value *flags = f.CreateAlloca(f.getInt8Ty(), slots, "slot.flags");
  f.CreateMemSet(flags, f.getInt8(0), slots, MaybeAlign(1));
  IRBuilder<> entry(&forward->getEntryBlock(), forward->getEntryBlock().begin());
  Value *closure = entry.CreateAlloca(ArrayType::get(i64(), 11 + inputs_.size()), nullptr, "images.closure");
  std::vector<Value *> fields = {weights_, output_, ctx_, forwardWorkspace, batch_, slots, group, slotBytes, head,
                                 flags, groups};
  fields.insert(fields.end(), inputs_.begin(), inputs_.end());
  for (size_t i = 0; i < fields.size(); ++i)
    f.CreateStore(fields[i], f.CreateConstInBoundsGEP1_64(i64(), closure, i));
  f.CreateCall(runtimeFn("seqrt_parallel_for"), {ctx_, groups, task, closure});
  // the head, once over the batch, in the forward function (its loops
  // split over the threads as layer by layer)
  emitNodeRange(headStart, nodes);
  headBase_ = headBatch_ = headFirst_ = nullptr;
}

// The forward function calls body(weights, output, batch, ctx, workspace,
// fixed, inputs...) once on the whole batch, or runs the slice task over
// the slices in parallel (see "Batch slices" above).
void LlvmGen::emitSliced(int64_t granule) {
  LLVMContext &ctx = context();
  Function *body = nodesFunction(graph_.symbolPrefix + ".body");
  Function *sliceTask = emitSliceTask(body, granule);

  IRBuilder<> &f = fwd_;
  Value *workspace = workspace_ ? workspace_ : ConstantPointerNull::get(ptr());
  int64_t unit = (kSliceImages + granule - 1) / granule * granule;
  Value *threads = f.CreateSExt(f.CreateCall(runtimeFn("seqrt_context_threads"), {ctx_}), i64());
  Value *slices = f.CreateBinaryIntrinsic(Intrinsic::umin, f.CreateMul(threads, f.getInt64(kSlicesPerThread)),
                                          f.CreateUDiv(batch_, f.getInt64(unit)), nullptr, "slices");
  int64_t work = std::max<int64_t>(1, perSampleWork(graph_));
  int64_t minBatch = (4 * kParallelWork + work - 1) / work;
  Value *sliced = profile_ ? f.getFalse()
                          : f.CreateAnd(f.CreateAnd(f.CreateICmpSGE(threads, f.getInt64(2)),
                                                    f.CreateICmpUGE(slices, f.getInt64(2))),
                                        f.CreateICmpSGE(batch_, f.getInt64(minBatch)));
  BasicBlock *whole = BasicBlock::Create(ctx, "whole_batch", forward_);
  BasicBlock *parallel = BasicBlock::Create(ctx, "batch_slices", forward_);
  BasicBlock *done = BasicBlock::Create(ctx, "nodes_done", forward_);
  f.CreateCondBr(sliced, parallel, whole);

  f.SetInsertPoint(whole);
  std::vector<Value *> args = {weights_, output_, batch_, ctx_, workspace, workspace};
  args.insert(args.end(), inputs_.begin(), inputs_.end());
  appendHeadArgs(args, nullptr, nullptr, nullptr);
  f.CreateCall(body, args);
  f.CreateBr(done);

  // The closure: weights, output, batch, ctx, workspace, slices, inputs.
  f.SetInsertPoint(parallel);
  std::vector<Value *> captured = {weights_, output_, batch_, ctx_, workspace, slices};
  captured.insert(captured.end(), inputs_.begin(), inputs_.end());
  IRBuilder<> entry(&forward_->getEntryBlock(), forward_->getEntryBlock().begin());
  Value *closure = entry.CreateAlloca(ArrayType::get(i64(), captured.size()), nullptr, "slices.closure");
  for (size_t i = 0; i < captured.size(); ++i)
    f.CreateStore(captured[i], f.CreateConstInBoundsGEP1_64(i64(), closure, i));
  f.CreateCall(runtimeFn("seqrt_parallel_for"), {ctx_, slices, sliceTask, closure});
  f.CreateBr(done);

  // The nodes, in the body, on its arguments.
  emitInto(body, [&] { emitNodes(); });
  f.SetInsertPoint(done);
}

// void slices(closure, begin, end): body on slices [begin, end) of
// `slices`. Slice s holds units [s * units / slices, (s + 1) * units /
// slices) of `unit` samples (the last slice also the remainder): its
// output and inputs start at its first sample, its workspace at its part
// of the per-batch region; its fixed region is on this task's stack.
Function *LlvmGen::emitSliceTask(Function *body, int64_t granule) {
  LLVMContext &ctx = context();
  auto *type = FunctionType::get(Type::getVoidTy(ctx), {ptr(), i64(), i64()}, false);
  Function *fn = Function::Create(type, GlobalValue::InternalLinkage, graph_.symbolPrefix + ".slices.task", module_);
  fn->addFnAttr(Attribute::NoUnwind);
  Argument *closure = fn->getArg(0), *begin = fn->getArg(1), *end = fn->getArg(2);
  BasicBlock *entry = BasicBlock::Create(ctx, "entry", fn);
  BasicBlock *loop = BasicBlock::Create(ctx, "slice", fn);
  BasicBlock *exit = BasicBlock::Create(ctx, "exit", fn);
  IRBuilder<> b(entry);
  auto slot = [&](size_t i, Type *t) { return b.CreateLoad(t, b.CreateConstInBoundsGEP1_64(i64(), closure, i)); };
  Value *weights = slot(0, ptr()), *output = slot(1, ptr()), *batch = slot(2, i64()), *context = slot(3, ptr());
  Value *workspace = slot(4, ptr()), *slices = slot(5, i64());
  std::vector<Value *> inputs;
  for (size_t i = 0; i < inputs_.size(); ++i)
    inputs.push_back(slot(6 + i, ptr()));
  Value *fixed = ConstantPointerNull::get(ptr());
  if (graph_.workspaceFixed > 0) {
    AllocaInst *stack = b.CreateAlloca(ArrayType::get(b.getInt8Ty(), uint64_t(graph_.workspaceFixed)), nullptr,
                                       "fixed_region");
    stack->setAlignment(Align(kSliceAlignment));
    fixed = stack;
  }
  int64_t unit = (kSliceImages + granule - 1) / granule * granule;
  Value *units = b.CreateUDiv(batch, b.getInt64(unit));
  b.CreateCondBr(b.CreateICmpULT(begin, end), loop, exit);

  b.SetInsertPoint(loop);
  PHINode *s = b.CreatePHI(i64(), 2, "s");
  s->addIncoming(begin, entry);
  Value *next = b.CreateAdd(s, b.getInt64(1));
  auto firstSample = [&](Value *index) {
    return b.CreateMul(b.CreateUDiv(b.CreateMul(index, units), slices), b.getInt64(unit));
  };
  Value *b0 = firstSample(s);
  Value *b1 = b.CreateSelect(b.CreateICmpEQ(next, slices), batch, firstSample(next));
  auto at = [&](Value *base, int64_t bytesPerSample) {
    return b.CreateGEP(b.getInt8Ty(), base, b.CreateMul(b0, b.getInt64(bytesPerSample)));
  };
  std::vector<Value *> args = {weights, at(output, ir::valueBytes(graph_, graph_.output)), b.CreateSub(b1, b0),
                               context, at(workspace, graph_.workspacePerBatch), fixed};
  for (size_t i = 0; i < inputs.size(); ++i)
    args.push_back(at(inputs[i], ir::valueBytes(graph_, graph_.inputs[i])));
  appendHeadArgs(args, nullptr, nullptr, nullptr);
  b.CreateCall(body, args);
  s->addIncoming(next, loop);
  b.CreateCondBr(b.CreateICmpULT(next, end), loop, exit);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return fn;
}

} // namespace seq::codegen

// NodeGenNextWeights: the cross-layer prefetch (NodeGenConv.h's
// NextWeights): which weights a convolution's tasks read into the caches
// for the layers after it, and each task's slice of them.
#include "codegen/NodeGenConv.h"

namespace seq::codegen {

using namespace llvm;

int64_t NextWeights::callBytesAtBatch1(const ir::Graph &g) {
  return g.packedSize * int64_t(sizeof(float)) + g.callWorkspaceFixed() + g.callWorkspacePerBatch();
}

NextWeights::Range NextWeights::of(const ir::Graph &g, int index) {
  Range range;
  if (callBytesAtBatch1(g) < kNextWeightsMinCallBytes)
    return range;
  range.enabled = true;
  for (size_t j = size_t(index) + 1; j < g.nodes.size(); ++j) {
    const ir::Node &next = g.nodes[j];
    if ((next.kind != ir::OpKind::Conv2d && next.kind != ir::OpKind::Linear) || next.attrs.weight < 0)
      continue;
    const ir::Packed &p = g.packed.at(size_t(next.attrs.weight));
    if (range.first >= 0 && p.offset != range.offset + range.floats)
      break; // the weights that follow are not the next node's
    int64_t begin = range.first >= 0 ? range.offset : p.offset;
    if ((p.offset + p.size - begin) * int64_t(sizeof(float)) > kNextWeightsMaxBytes)
      break;
    if (range.first < 0)
      range.first = next.attrs.weight, range.offset = p.offset;
    range.floats = p.offset + p.size - range.offset;
  }
  return range;
}

NextWeights::NextWeights(LlvmGen &gen, int index, Task &task) {
  Range range = of(gen.graph(), index);
  if (!range.enabled)
    return;
  // Captured, even when there is nothing to prefetch: the kernel calls of
  // such a model then differ in run-time values only, and ShareKernelCalls
  // still gives calls of one shape one specialisation (with the constant
  // null of a last layer beside, GoogLeNet's cached build took 9% more CPU).
  IRBuilder<> &f = gen.fwd();
  at_ = task.capture(range.first >= 0 ? gen.packedPtr(range.first) : ConstantPointerNull::get(f.getPtrTy()),
                     "next_weights");
  lines_ = task.capture(f.getInt64(range.floats * int64_t(sizeof(float)) / 64), "next_lines");
}

std::array<Value *, 2> NextWeights::slice(IRBuilder<> &b, Value *t, Value *tasks, Value *image, Value *end) const {
  if (!at_)
    return {ConstantPointerNull::get(b.getPtrTy()), b.getInt64(0)};
  Value *l0 = b.CreateUDiv(b.CreateMul(t, lines_), tasks);
  Value *l1 = b.CreateUDiv(b.CreateMul(end ? end : b.CreateAdd(t, b.getInt64(1)), lines_), tasks);
  Value *bytes = b.CreateMul(b.CreateSub(l1, l0), b.getInt64(64));
  if (image)
    bytes = b.CreateSelect(b.CreateICmpEQ(image, b.getInt64(0)), bytes, b.getInt64(0));
  return {b.CreateInBoundsGEP(b.getInt8Ty(), at_, b.CreateMul(l0, b.getInt64(64)), "xl"), bytes};
}

} // namespace seq::codegen

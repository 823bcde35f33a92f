// NodeGenWindow: ops that work plane by plane or row by row with a
// kernel of their own (pools, Softmax, LayerNorm) and Pad, whose loops are
// generated here. None takes an epilogue inside its kernel; when the graph
// gives one, it runs on the task's rows right after the op.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"
#include "codegen/NodeGenConv.h"
#include "ir/ConvPool.h"

namespace seq::codegen {

using namespace llvm;

namespace {

const ir::Shape &inShape(LlvmGen &gen, const ir::Node &node) {
  return gen.graph().value(node.inputs.at(0)).shape;
}
const ir::Shape &outShape(LlvmGen &gen, const ir::Node &node) {
  return gen.graph().value(node.output).shape;
}

int64_t product(const std::vector<int64_t> &dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < dims.size(); ++i)
    p *= dims[i];
  return p;
}

void require4d(const ir::Node &node, const ir::Shape &in, const ir::Shape &out) {
  if (in.rank() != 4 || out.rank() != 4)
    fail(std::string(ir::name(node.kind)) + " '" + node.name + "' is not 4-d: " + in.str() + " -> " +
         out.str());
}

} // namespace

// ---- Pools ---------------------------------------------------------------------

// The B*C planes split over the threads; the kernels index planes
// themselves, so a task is one call.
void genPool(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  if (const ir::Node *conv = ir::fusedPoolConvolution(gen.graph(), node))
    return genConvMaxPool(gen, int(conv - gen.graph().nodes.data()), index);
  const ir::Shape &in = inShape(gen, node), &out = outShape(gen, node);
  require4d(node, in, out);
  const ir::Attrs &a = node.attrs;
  int64_t H = in.dims[2], W = in.dims[3], OH = out.dims[2], OW = out.dims[3];
  Epilogue epilogue = rowEpilogue(gen, index, OH * OW);

  Task task(gen, index, "pool");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *p0 = task.begin(), *p1 = task.end();
  int64_t window = a.kernel[0] * a.kernel[1];
  switch (node.kind) {
  case ir::OpKind::MaxPool2d:
    b.CreateCall(gen.kernel("seqk_maxpool2d"),
                 {x, y, c(H), c(W), c(a.kernel[0]), c(a.kernel[1]), c(a.stride[0]), c(a.stride[1]),
                  c(a.pad[0]), c(a.pad[1]), c(a.dilation[0]), c(a.dilation[1]), c(OH), c(OW), p0, p1});
    break;
  case ir::OpKind::AvgPool2d:
    b.CreateCall(gen.kernel("seqk_avgpool2d"),
                 {x, y, c(H), c(W), c(a.kernel[0]), c(a.kernel[1]), c(a.stride[0]), c(a.stride[1]),
                  c(a.pad[0]), c(a.pad[1]), c(OH), c(OW), b.getInt32(a.countIncludePad ? 1 : 0), p0, p1});
    break;
  default: // adaptive pools: windows of about H/OH x W/OW
    b.CreateCall(gen.kernel(node.kind == ir::OpKind::AdaptiveMaxPool2d ? "seqk_adaptive_maxpool2d"
                                                                       : "seqk_adaptive_avgpool2d"),
                 {x, y, c(H), c(W), c(OH), c(OW), p0, p1});
    window = ((H + OH - 1) / OH + 1) * ((W + OW - 1) / OW + 1);
    break;
  }
  applyEpilogueToRows(task, epilogue, y, OH * OW, p0, p1);
  task.run(gen.leadingExtent(out, 2), LlvmGen::workOf(out, window));
}

// ---- Softmax, LayerNorm -------------------------------------------------------

// x viewed as [outer, D, inner] around `dim`; tasks split `outer`. Over
// the batch dim (dim 0) D is the run-time batch and outer is 1.
void genSoftmax(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &shape = outShape(gen, node);
  size_t dim = size_t(node.attrs.dim);
  if (dim >= shape.rank())
    fail("softmax '" + node.name + "' over dim " + std::to_string(dim) + " of " + shape.str());
  int64_t inner = product(shape.dims, dim + 1, shape.rank());
  bool batchDim = shape.dims[dim] == ir::kBatch;
  if (batchDim && !node.epilogue.empty())
    fail("softmax '" + node.name + "' over the batch dim cannot take an epilogue");
  Epilogue epilogue = rowEpilogue(gen, index, batchDim ? 1 : shape.dims[dim] * inner);

  IRBuilder<> &f = gen.fwd();
  Value *outer = gen.leadingExtent(shape, dim);
  Value *D = batchDim ? gen.batch() : f.getInt64(shape.dims[dim]);
  Task task(gen, index, "softmax");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs.at(0)), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *tD = task.capture(D, "D");
  b.CreateCall(gen.kernel("seqk_softmax"), {x, y, tD, b.getInt64(inner), b.getInt32(node.attrs.log ? 1 : 0),
                                            task.begin(), task.end()});
  if (!batchDim)
    applyEpilogueToRows(task, epilogue, y, shape.dims[dim] * inner, task.begin(), task.end());
  task.run(outer, LlvmGen::workOf(shape, 16));
}

// Rows of `normSize` elements, split over the threads.
void genLayerNorm(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &shape = outShape(gen, node);
  int64_t D = node.attrs.normSize;
  int64_t perItem = shape.elementsPerBatch(); // per batch item, or in all
  if (D <= 0 || perItem % D != 0)
    fail("layer_norm '" + node.name + "' over " + std::to_string(D) + " elements of " + shape.str());
  Epilogue epilogue = rowEpilogue(gen, index, D);

  IRBuilder<> &f = gen.fwd();
  Value *rows = shape.batched() ? f.CreateMul(gen.batch(), f.getInt64(perItem / D))
                                : static_cast<Value *>(f.getInt64(perItem / D));
  Task task(gen, index, "layer_norm");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs.at(0)), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *gamma = task.capture(gen.packedPtr(node.attrs.weight), "gamma");
  Value *beta = task.capture(gen.packedPtr(node.attrs.bias), "beta");
  b.CreateCall(gen.kernel("seqk_layernorm"), {x, y, b.getInt64(D), gamma, beta,
                                              ConstantFP::get(b.getFloatTy(), node.attrs.eps),
                                              task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, D, task.begin(), task.end());
  task.run(rows, LlvmGen::workOf(shape, 8));
}

// ---- Pad ---------------------------------------------------------------------------
//
// Each output row is three runs: the left border, the image row (a
// memcpy), the right border; a row above or below the image is a border
// row. Zero padding writes zeros for borders; the other modes read the
// input at a mapped index:
//   reflect   -1 -> 1, n -> n-2     (the edge is not repeated)
//   replicate -1 -> 0, n -> n-1
//   circular  -1 -> n-1, n -> 0
namespace {

Value *mapPadIndex(IRBuilder<> &b, ir::PadMode mode, Value *i, int64_t n) {
  Value *below = b.CreateICmpSLT(i, b.getInt64(0));
  switch (mode) {
  case ir::PadMode::Reflect: {
    Value *t = b.CreateSelect(below, b.CreateNeg(i), i);
    return b.CreateSelect(b.CreateICmpSGE(t, b.getInt64(n)), b.CreateSub(b.getInt64(2 * (n - 1)), t), t);
  }
  case ir::PadMode::Replicate: {
    Value *t = b.CreateBinaryIntrinsic(Intrinsic::smin, i, b.getInt64(n - 1));
    return b.CreateBinaryIntrinsic(Intrinsic::smax, t, b.getInt64(0));
  }
  case ir::PadMode::Circular: {
    Value *t = b.CreateSelect(below, b.CreateAdd(i, b.getInt64(n)), i);
    return b.CreateSelect(b.CreateICmpSGE(t, b.getInt64(n)), b.CreateSub(t, b.getInt64(n)), t);
  }
  case ir::PadMode::Zeros:
    break;
  }
  fail("zero padding has no index mapping");
}

struct PadGeometry {
  int64_t H, W, OH, OW, top, left;
  ir::PadMode mode;
  float value; // the constant of PadMode::Zeros (ConstantPad2d)
};

// `count` floats at `to` set to the pad constant (a memset for zero).
void fillConstant(IRBuilder<> &b, const PadGeometry &p, Value *to, int64_t count) {
  if (p.value == 0.0f) {
    b.CreateMemSet(to, b.getInt8(0), count * 4, MaybeAlign(4));
    return;
  }
  emitLoop(b, b.getInt64(count), "fill", [&](Value *i) {
    b.CreateStore(ConstantFP::get(b.getFloatTy(), p.value), LlvmGen::floatGep(b, to, i));
  });
}

// Output columns [from, to) of a border, read from input row `xrow`.
void emitBorder(IRBuilder<> &b, const PadGeometry &p, Value *xrow, Value *yrow, int64_t from, int64_t to) {
  if (from >= to)
    return;
  if (p.mode == ir::PadMode::Zeros) {
    fillConstant(b, p, LlvmGen::floatGep(b, yrow, from), to - from);
    return;
  }
  emitLoop(b, b.getInt64(from), b.getInt64(to), "ow", [&](Value *ow) {
    Value *iw = mapPadIndex(b, p.mode, b.CreateSub(ow, b.getInt64(p.left)), p.W);
    b.CreateStore(b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, xrow, iw)), LlvmGen::floatGep(b, yrow, ow));
  });
}

void emitPaddedRow(IRBuilder<> &b, const PadGeometry &p, Value *xrow, Value *yrow) {
  emitBorder(b, p, xrow, yrow, 0, p.left);
  b.CreateMemCpy(LlvmGen::floatGep(b, yrow, p.left), MaybeAlign(4), xrow, MaybeAlign(4), p.W * 4);
  emitBorder(b, p, xrow, yrow, p.left + p.W, p.OW);
}

// One plane: rows of the zero border are zero-filled; other modes map
// every row to an image row.
void emitPaddedPlane(IRBuilder<> &b, const PadGeometry &p, Value *xp, Value *yp) {
  emitLoop(b, b.getInt64(p.OH), "oh", [&](Value *oh) {
    Value *yrow = LlvmGen::floatGep(b, yp, b.CreateMul(oh, b.getInt64(p.OW)));
    Value *ih = b.CreateSub(oh, b.getInt64(p.top));
    if (p.mode != ir::PadMode::Zeros) {
      Value *xrow = LlvmGen::floatGep(b, xp, b.CreateMul(mapPadIndex(b, p.mode, ih, p.H), b.getInt64(p.W)));
      emitPaddedRow(b, p, xrow, yrow);
      return;
    }
    Function *fn = b.GetInsertBlock()->getParent();
    BasicBlock *image = BasicBlock::Create(b.getContext(), "image_row", fn);
    BasicBlock *border = BasicBlock::Create(b.getContext(), "border_row", fn);
    BasicBlock *next = BasicBlock::Create(b.getContext(), "row_done", fn);
    // 0 <= ih < H as one unsigned compare
    b.CreateCondBr(b.CreateICmpULT(ih, b.getInt64(p.H)), image, border);
    b.SetInsertPoint(image);
    emitPaddedRow(b, p, LlvmGen::floatGep(b, xp, b.CreateMul(ih, b.getInt64(p.W))), yrow);
    b.CreateBr(next);
    b.SetInsertPoint(border);
    fillConstant(b, p, yrow, p.OW);
    b.CreateBr(next);
    b.SetInsertPoint(next);
  });
}

} // namespace

void genPad(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &in = inShape(gen, node), &out = outShape(gen, node);
  require4d(node, in, out);
  const ir::Attrs &a = node.attrs;
  PadGeometry p{in.dims[2], in.dims[3], out.dims[2], out.dims[3], a.pad[0], a.pad[1], a.padMode, a.padValue};
  bool consistent = p.OH == p.H + a.pad[0] + a.pad[2] && p.OW == p.W + a.pad[1] + a.pad[3];
  bool inRange = a.pad[0] >= 0 && a.pad[1] >= 0 && a.pad[2] >= 0 && a.pad[3] >= 0;
  // Reflection needs pad < n, circular pad <= n (as PyTorch checks).
  int64_t maxPadH = std::max(a.pad[0], a.pad[2]), maxPadW = std::max(a.pad[1], a.pad[3]);
  if (a.padMode == ir::PadMode::Reflect)
    inRange &= maxPadH < p.H && maxPadW < p.W;
  if (a.padMode == ir::PadMode::Circular)
    inRange &= maxPadH <= p.H && maxPadW <= p.W;
  if (!consistent || !inRange)
    fail("pad '" + node.name + "' of " + in.str() + " to " + out.str() + " is not supported");
  Epilogue epilogue = rowEpilogue(gen, index, p.OH * p.OW);

  Task task(gen, index, "pad");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  emitLoop(b, task.begin(), task.end(), "plane", [&](Value *plane) {
    Value *xp = LlvmGen::floatGep(b, x, b.CreateMul(plane, b.getInt64(p.H * p.W)));
    Value *yp = LlvmGen::floatGep(b, y, b.CreateMul(plane, b.getInt64(p.OH * p.OW)));
    emitPaddedPlane(b, p, xp, yp);
  });
  applyEpilogueToRows(task, epilogue, y, p.OH * p.OW, task.begin(), task.end());
  task.run(gen.leadingExtent(out, 2), LlvmGen::workOf(out, 1));
}

} // namespace seq::codegen

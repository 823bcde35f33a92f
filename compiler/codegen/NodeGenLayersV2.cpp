// NodeGenLayersV2: the layers version 2 of the language adds that have
// kernels of their own: GroupNorm and PReLU (kernels/norm.c), Upsample
// (kernels/upsample.c) and ConvTranspose2d (kernels/convtranspose.c: a
// GEMM into the node's scratch, then a col2im per output plane). Each
// applies an epilogue the graph gives it to the rows a task produced.
#include "codegen/Epilogue.h"
#include "codegen/NodeGen.h"

namespace seq::codegen {

using namespace llvm;

namespace {

const ir::Shape &outShape(LlvmGen &gen, const ir::Node &node) {
  return gen.graph().value(node.output).shape;
}

int64_t innerSize(const ir::Shape &shape, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < shape.rank(); ++i)
    p *= shape.dims[i];
  return p;
}

} // namespace

// Rows of one group of channels, (B*G) of them, split over the threads.
void genGroupNorm(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &shape = outShape(gen, node);
  int64_t G = node.attrs.groups, C = shape.dims.at(1), inner = innerSize(shape, 2);
  if (G <= 0 || C % G)
    fail("group_norm '" + node.name + "' of " + std::to_string(G) + " groups over " + shape.str());
  int64_t D = C / G * inner;
  Epilogue epilogue = rowEpilogue(gen, index, D);
  Value *rows = gen.fwd().CreateMul(gen.leadingExtent(shape, 1), gen.fwd().getInt64(G));
  Task task(gen, index, "group_norm");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs.at(0)), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *gamma = task.capture(gen.packedPtr(node.attrs.weight), "gamma");
  Value *beta = task.capture(gen.packedPtr(node.attrs.bias), "beta");
  b.CreateCall(gen.kernel("seqk_groupnorm"),
               {x, y, b.getInt64(G), b.getInt64(C / G), b.getInt64(inner), gamma, beta,
                ConstantFP::get(b.getFloatTy(), node.attrs.eps), task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, D, task.begin(), task.end());
  task.run(rows, LlvmGen::workOf(shape, 8));
}

// Rows of one channel of one image, (B*C) of them.
void genPRelu(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &shape = outShape(gen, node);
  bool hasChannels = shape.rank() >= 2;
  int64_t C = hasChannels ? shape.dims[1] : 1, inner = hasChannels ? innerSize(shape, 2) : 1;
  int64_t nw = gen.graph().packed.at(size_t(node.attrs.weight)).size;
  Epilogue epilogue = rowEpilogue(gen, index, inner);
  Value *rows = hasChannels ? gen.leadingExtent(shape, 2) : gen.leadingExtent(shape, shape.rank());
  Task task(gen, index, "prelu");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs.at(0)), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  b.CreateCall(gen.kernel("seqk_prelu"), {x, y, b.getInt64(C), b.getInt64(inner), w, b.getInt64(nw),
                                          task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, inner, task.begin(), task.end());
  task.run(rows, LlvmGen::workOf(shape, 1));
}

// The B*C planes split over the threads.
void genUpsample(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &in = gen.graph().value(node.inputs.at(0)).shape, &out = outShape(gen, node);
  if (in.rank() != 4 || out.rank() != 4)
    fail("upsample '" + node.name + "' is not 4-d: " + in.str() + " -> " + out.str());
  const ir::Attrs &a = node.attrs;
  int64_t H = in.dims[2], W = in.dims[3], OH = out.dims[2], OW = out.dims[3];
  Epilogue epilogue = rowEpilogue(gen, index, OH * OW);
  Task task(gen, index, "upsample");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  auto c = [&](int64_t v) { return b.getInt64(v); };
  auto f = [&](float v) { return ConstantFP::get(b.getFloatTy(), v); };
  if (a.bilinear)
    b.CreateCall(gen.kernel("seqk_upsample_bilinear2d"),
                 {x, y, c(H), c(W), c(OH), c(OW), f(a.scale[0]), f(a.scale[1]),
                  b.getInt32(a.alignCorners ? 1 : 0), task.begin(), task.end()});
  else
    b.CreateCall(gen.kernel("seqk_upsample_nearest2d"),
                 {x, y, c(H), c(W), c(OH), c(OW), f(a.scale[0]), f(a.scale[1]), task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, OH * OW, task.begin(), task.end());
  task.run(gen.leadingExtent(out, 2), LlvmGen::workOf(out, a.bilinear ? 8 : 1));
}

// Two parallel loops: the GEMM rows of every image and group into the
// scratch (convTransposeScratchBytes), then the output planes.
void genConvTranspose(LlvmGen &gen, int index) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &in = gen.graph().value(node.inputs.at(0)).shape, &out = outShape(gen, node);
  const ir::Attrs &a = node.attrs;
  int64_t C = in.dims[1], H = in.dims[2], W = in.dims[3];
  int64_t OC = out.dims[1], OH = out.dims[2], OW = out.dims[3], G = a.groups;
  int64_t M = OC / G * a.kernel[0] * a.kernel[1];
  IRBuilder<> &f = gen.fwd();
  Value *images = gen.leadingExtent(in, 1);
  Value *col = gen.scratchPtr(index);
  {
    Task task(gen, index, "convt_gemm");
    IRBuilder<> &b = task.b();
    Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
    Value *w = task.capture(gen.packedPtr(a.weight), "w");
    Value *tc = task.capture(col, "col");
    b.CreateCall(gen.kernel("seqk_convtranspose_cols"),
                 {x, w, tc, b.getInt64(C), b.getInt64(G), b.getInt64(M), b.getInt64(H * W),
                  task.begin(), task.end()});
    ir::Shape work = in;
    work.dims[1] = M * C / G; // multiply-adds per input position
    task.run(f.CreateMul(images, f.getInt64(G * M)), LlvmGen::workOf(work, 1));
  }
  Epilogue epilogue = rowEpilogue(gen, index, OH * OW);
  Task task(gen, index, "convt_col2im");
  IRBuilder<> &b = task.b();
  Value *tc = task.capture(col, "col");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *bias = task.capture(gen.packedPtr(a.bias), "bias");
  auto c = [&](int64_t v) { return b.getInt64(v); };
  b.CreateCall(gen.kernel("seqk_convtranspose_col2im"),
               {tc, y, bias, c(OC), c(G), c(H), c(W), c(a.kernel[0]), c(a.kernel[1]), c(a.stride[0]),
                c(a.stride[1]), c(a.pad[0]), c(a.pad[1]), c(a.dilation[0]), c(a.dilation[1]), c(OH),
                c(OW), task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, OH * OW, task.begin(), task.end());
  task.run(gen.leadingExtent(out, 2), LlvmGen::workOf(out, 1 + a.kernel[0] * a.kernel[1] / 4));
}

} // namespace seq::codegen

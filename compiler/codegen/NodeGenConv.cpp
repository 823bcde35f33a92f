// NodeGenConv: Conv2d. ir::convAlgorithm picks the kernel: packed weights
// with output channels in the vector lanes (seqk_conv2d_packed, on a
// zero-padded copy when the convolution pads), a GEMM on the input
// (pointwise), a stride-1 direct convolution on a padded copy, im2col (or
// gathered im2col) + GEMM, or the depthwise kernels. Epilogues run inside
// the kernels, on each finished run of outputs.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"
#include "codegen/NodeGenConv.h"
#include "ir/ConvScratch.h"

#include <algorithm>
#include <limits>

namespace seq::codegen {

using namespace llvm;

namespace {

// Conv2d GEMM tiles: rows of the output plane (output channels of a
// group) and columns (output positions) per task. Each kernel call packs
// its K x columns block of B once and reuses it for all its rows, so tiles
// keep many rows; 256 columns are two of the kernel's column blocks.
constexpr int64_t kConvTileRows = 64;
constexpr int64_t kConvMaxFullRows = 128;
constexpr int64_t kConvTileCols = 256;
constexpr int64_t kConvMinTileCols = 64;
// Images from which a scratch-buffer convolution runs as slot tasks (one
// image a task, kConvScratchSlots buffers) rather than image by image with
// each image's work split: 4 images keep 2 threads evenly busy.
constexpr int64_t kSlotMinImages = 4;

// seqk_gemm on C[m0:m1, n0:n1] (`range`) of the M x N x K product `MNK`.
void emitGemm(LlvmGen &gen, IRBuilder<> &b, std::array<int64_t, 3> MNK, Value *A, int64_t lda, Value *B,
              int64_t ldb, Value *C, int64_t ldc, std::array<Value *, 4> range, const EpilogueEnv &env) {
  auto [M, N, K] = MNK;
  b.CreateCall(gen.kernel("seqk_gemm"), {b.getInt64(M), b.getInt64(N), b.getInt64(K), A, b.getInt64(lda), B,
                                         b.getInt64(ldb), C, b.getInt64(ldc), range[0], range[1], range[2],
                                         range[3], env.fn(), env.env()});
}

// Columns (output positions) per conv tile: at most kConvTileCols, tiles
// of nearly equal width (a multiple of 16, an even count), and narrower,
// down to kConvMinTileCols, when an image would make fewer than
// kTasksWanted tiles, so that one image keeps the threads busy.
int64_t convTileCols(int64_t positions, int64_t tilesPerColumn) {
  int64_t tiles = ceilDiv(positions, kConvTileCols);
  int64_t wanted = ceilDiv(kTasksWanted, tilesPerColumn);
  tiles = std::max(tiles, std::min(wanted, ceilDiv(positions, kConvMinTileCols)));
  if (tiles > 1)
    tiles += tiles % 2;
  int64_t cols = ceilDiv(ceilDiv(positions, tiles), 16) * 16;
  return std::min(cols, positions);
}

} // namespace

// ---- Conv2d ---------------------------------------------------------------------

// The helpers NodeGenConv.h declares.


ConvShape convShape(const ir::Graph &g, const ir::Node &node) {
  const ir::Shape &in = g.value(node.inputs.at(0)).shape;
  const ir::Shape &out = g.value(node.output).shape;
  if (in.rank() != 4 || out.rank() != 4)
    fail("Conv2d '" + node.name + "' is not 4-d: " + in.str() + " -> " + out.str());
  const ir::Attrs &a = node.attrs;
  ConvShape s{in.dims[0], in.dims[1], in.dims[2], in.dims[3], out.dims[1], out.dims[2], out.dims[3],
              a.groups, a.kernel[0], a.kernel[1], a.stride[0], a.stride[1], a.pad[0], a.pad[1],
              a.dilation[0], a.dilation[1]};
  s.phased = ir::columnPhasedLanes(g, node);
  if (s.G <= 0 || s.C % s.G != 0 || s.OC % s.G != 0)
    fail("Conv2d '" + node.name + "' has " + std::to_string(s.G) + " groups for " +
         std::to_string(s.C) + " -> " + std::to_string(s.OC) + " channels");
  return s;
}

// Rows shorter than this take the register form of a curve (genConv2d).
constexpr int64_t kShortRow = 16;

namespace {

// col[g] = im2col of group g of image `image` (a forward-side i64): the
// rows of all groups split over the threads.
void genIm2col(LlvmGen &gen, int index, const ConvShape &s, Value *col, Value *image) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  Task task(gen, index, "im2col");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *tcol = task.capture(col, "col");
  Value *n = task.capture(image, "image");
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
  emitSegments(b, task.begin(), task.end(), c(s.Kc()), "patch", [&](Value *grp, Value *r0, Value *r1) {
    Value *xg = LlvmGen::floatGep(b, xn, b.CreateMul(grp, c(s.Cg() * s.H * s.W)));
    Value *cg = LlvmGen::floatGep(b, tcol, b.CreateMul(grp, c(s.Kc() * s.OHW())));
    b.CreateCall(gen.kernel("seqk_im2col"), {xg, c(s.Cg()), c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                                              c(s.PH), c(s.PW), c(s.DH), c(s.DW), c(s.OH), c(s.OW), cg, r0, r1});
  });
  task.run(gen.fwd().getInt64(s.G * s.Kc()), Work{0, kCopyStepsPerFloat * s.G * s.Kc() * s.OHW()});
}

// y[n, g*OCg:(g+1)*OCg] = W[g] * B[n][g] in tiles of (image, group, rows,
// columns), all images' tiles split over the threads. B is the input
// itself for a pointwise convolution (seqk_gemm), else its im2col, which
// seqk_conv2d_gemm gathers block by block into the GEMM's packed panels;
// or, given `col` (image `image`'s im2col, a forward-side i64), the tiles
// of that one image, by seqk_gemm on `col`.
void genConvGemm(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, bool pointwise,
                 Value *col = nullptr, Value *image = nullptr) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Shape &out = gen.graph().value(node.output).shape;
  int64_t OCg = s.OCg(), OHW = s.OHW(), Kc = s.Kc();
  int64_t tileRows = OCg <= kConvMaxFullRows ? OCg : kConvTileRows;
  int64_t tilesM = ceilDiv(OCg, tileRows);
  int64_t tileCols = convTileCols(OHW, s.G * tilesM);
  int64_t tilesN = ceilDiv(OHW, tileCols);
  int64_t perGroup = tilesM * tilesN, perImage = s.G * perGroup;

  Task task(gen, index, "gemm");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *tcol = col ? task.capture(col, "col") : nullptr;
  Value *fixedImage = image ? task.capture(image, "image") : nullptr;
  EpilogueEnv env(task, epilogue);
  emitLoop(b, task.begin(), task.end(), "tile", [&](Value *t) {
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *n = fixedImage ? fixedImage : b.CreateUDiv(t, c(perImage));
    Value *inImage = fixedImage ? t : b.CreateURem(t, c(perImage));
    Value *grp = b.CreateUDiv(inImage, c(perGroup));
    Value *tile = b.CreateURem(inImage, c(perGroup));
    Value *m0 = b.CreateMul(b.CreateUDiv(tile, c(tilesN)), c(tileRows));
    Value *n0 = b.CreateMul(b.CreateURem(tile, c(tilesN)), c(tileCols));
    Value *m1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(m0, c(tileRows)), c(OCg));
    Value *n1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(n0, c(tileCols)), c(OHW));
    // The group's input planes start at plane n*C + g*Cg (pointwise: they
    // are B itself, [Kc = Cg, OHW = H*W]).
    Value *slot = b.CreateAdd(b.CreateMul(n, c(s.G)), grp);
    Value *X = LlvmGen::floatGep(b, x, b.CreateMul(slot, c(s.Cg() * s.H * s.W)));
    Value *A = LlvmGen::floatGep(b, w, b.CreateMul(grp, c(OCg * Kc)));
    Value *rowBase = b.CreateAdd(b.CreateMul(n, c(s.OC)), b.CreateMul(grp, c(OCg)));
    Value *C = LlvmGen::floatGep(b, y, b.CreateMul(rowBase, c(OHW)));
    env.setRowBase(b, rowBase);
    if (pointwise || tcol) {
      Value *B = tcol ? LlvmGen::floatGep(b, tcol, b.CreateMul(grp, c(Kc * OHW))) : X;
      emitGemm(gen, b, {OCg, OHW, Kc}, A, Kc, B, OHW, C, OHW, {m0, m1, n0, n1}, env);
      return;
    }
    b.CreateCall(gen.kernel("seqk_conv2d_gemm"),
                 {X, A, C, c(s.Cg()), c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW), c(s.PH), c(s.PW),
                  c(s.DH), c(s.DW), c(s.OH), c(s.OW), m0, m1, n0, n1, env.fn(), env.env()});
  });
  if (image) {
    task.run(gen.fwd().getInt64(perImage), Work{0, s.OC * OHW * Kc});
    return;
  }
  Value *tiles = gen.fwd().CreateMul(gen.leadingExtent(out, 1), gen.fwd().getInt64(perImage));
  task.run(tiles, LlvmGen::workOf(out, Kc));
}

// The C passed to seqk_depthwise2d_lanes for every multiple of 16 (see
// emitDepthwise): a multiple of 16 above any channel count that fits an
// instruction's 32-bit immediate, as the counts it stands for do.
constexpr int64_t kLanesAnyFullC = int64_t(1) << 30;

// The units a depthwise convolution's channels are split in: blocks of 16
// channels in the vector lanes (ir::depthwiseLanes), or channels.
int64_t depthwiseUnits(const ir::Graph &g, const ir::Node &node, const ConvShape &s) {
  return ir::depthwiseLanes(g, node) ? (s.C + 15) / 16 : s.C;
}

// Image n's depthwise units [c0, c1) (depthwiseUnits): with 16 channels
// in the lanes (seqk_depthwise2d_lanes) in the scratch block of unit c0,
// or seqk_depthwise2d_phased, copying each channel into the plane of
// `buf` (a float pointer) of channel c0.
void emitDepthwise(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const ir::Node &node,
                   std::array<Value *, 4> xwyBuf, std::array<Value *, 3> nc0c1, const EpilogueEnv &env) {
  auto [x, w, y, buf] = xwyBuf;
  auto [n, c0, c1] = nc0c1;
  const ir::Attrs &a = node.attrs;
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
  Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.C * s.OHW())));
  if (ir::depthwiseLanes(gen.graph(), node)) {
    Value *block = LlvmGen::floatGep(b, buf, b.CreateMul(c0, c(ir::depthwiseLanesBlockFloats(gen.graph(), node))));
    // C only bounds the last block's channels: with C a multiple of 16
    // every block is full for any such C at least as large, so one
    // constant stands for all of them and layers that differ only in C
    // share a specialisation (ShareKernelCalls), the code otherwise the
    // same (EfficientNet-B0's 480- and 672-channel 14x14 5x5 layers).
    int64_t lanesC = s.C % 16 == 0 ? kLanesAnyFullC : s.C;
    b.CreateCall(gen.kernel("seqk_depthwise2d_lanes"),
                 {xn, block, w, c(ir::weightInPanels(gen.graph(), node) ? 1 : 0), yn, c(lanesC), c(s.H), c(s.W),
                  c(s.KH), c(s.KW), c(s.SH), c(s.SW), c(a.pad[0]), c(a.pad[1]), c(s.DH), c(s.DW), c(s.OH), c(s.OW), c0,
                  c1, env.fn(), env.env(), env.fused()});
    return;
  }
  Value *plane = LlvmGen::floatGep(b, buf, b.CreateMul(c0, c(ir::depthwisePlaneFloats(a, s.OH, s.OW))));
  b.CreateCall(gen.kernel("seqk_depthwise2d_phased"),
               {xn, plane, w, yn, c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW), c(a.pad[0]), c(a.pad[1]),
                c(s.DH), c(s.DW), c(s.OH), c(s.OW), c(ir::depthwisePhaseWidth(a, s.OH, s.OW)), c0, c1, env.fn(),
                env.env()});
}

// A depthwise convolution of image `image`, its channels split over the
// threads: each task copies and convolves its channels one by one, in
// the scratch plane of its first channel.
void genDepthwise(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *scratch,
                  Value *image) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  Task task(gen, index, "depthwise");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *buf = task.capture(scratch, "buf");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *n = task.capture(image, "image");
  EpilogueEnv env(task, epilogue);
  env.setRowBase(b, b.CreateMul(n, b.getInt64(s.C)));
  emitDepthwise(gen, b, s, node, {x, w, y, buf}, {n, task.begin(), task.end()}, env);
  task.run(gen.fwd().getInt64(depthwiseUnits(gen.graph(), node, s)), Work{0, s.C * s.OHW() * s.KH * s.KW});
}

} // namespace

// Image `image`'s input zero-padded into `xp` (seqk_pad2d), its channels
// split over the threads.
void genPadInput(LlvmGen &gen, int index, const ConvShape &s, Value *xp, Value *image) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  const ir::Attrs &a = node.attrs;
  int64_t Hp = s.H + a.pad[0] + a.pad[2], Wp = s.W + a.pad[1] + a.pad[3];
  Task task(gen, index, "pad_input");
  IRBuilder<> &b = task.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *txp = task.capture(xp, "xp");
  Value *n = task.capture(image, "image");
  Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
  b.CreateCall(gen.kernel(s.padKernel()), {xn, txp, c(s.C), c(s.H), c(s.W), c(Hp), c(Wp), c(a.pad[0]),
                                            c(a.pad[1]), task.begin(), task.end()});
  task.run(gen.fwd().getInt64(s.C), Work{0, kCopyStepsPerFloat * s.C * Hp * Wp});
}

namespace {

// A stride-1 convolution of image `image` on its padded copy xp
// (seqk_conv2d_direct): tasks of (group, rows of output channels, runs of
// padded positions q = oh*Wp + ow).
void genConvDirect(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *xp,
                   Value *image) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  int64_t Hp = s.OH + (s.KH - 1) * s.DH, Wp = s.OW + (s.KW - 1) * s.DW;
  int64_t positions = (s.OH - 1) * Wp + s.OW, OCg = s.OCg(), Kc = s.Kc();
  int64_t tileRows = OCg <= kConvMaxFullRows ? OCg : kConvTileRows;
  int64_t tilesM = ceilDiv(OCg, tileRows);
  int64_t tileCols = convTileCols(positions, s.G * tilesM);
  int64_t tilesN = ceilDiv(positions, tileCols);
  int64_t perGroup = tilesM * tilesN;

  Task task(gen, index, "direct");
  IRBuilder<> &b = task.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *txp = task.capture(xp, "xp");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *n = task.capture(image, "image");
  EpilogueEnv env(task, epilogue);
  emitLoop(b, task.begin(), task.end(), "tile", [&](Value *t) {
    Value *grp = b.CreateUDiv(t, c(perGroup));
    Value *tile = b.CreateURem(t, c(perGroup));
    Value *m0 = b.CreateMul(b.CreateUDiv(tile, c(tilesN)), c(tileRows));
    Value *q0 = b.CreateMul(b.CreateURem(tile, c(tilesN)), c(tileCols));
    Value *m1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(m0, c(tileRows)), c(OCg));
    Value *q1 = b.CreateAdd(q0, c(tileCols)); // the kernel clips it
    Value *X = LlvmGen::floatGep(b, txp, b.CreateMul(grp, c(s.Cg() * Hp * Wp)));
    Value *A = LlvmGen::floatGep(b, w, b.CreateMul(grp, c(OCg * Kc)));
    Value *rowBase = b.CreateAdd(b.CreateMul(n, c(s.OC)), b.CreateMul(grp, c(OCg)));
    Value *C = LlvmGen::floatGep(b, y, b.CreateMul(rowBase, c(s.OHW())));
    env.setRowBase(b, rowBase);
    b.CreateCall(gen.kernel("seqk_conv2d_direct"),
                 {X, A, C, c(s.Cg()), c(Hp), c(Wp), c(s.KH), c(s.KW), c(s.DH), c(s.DW), c(s.OH), c(s.OW), m0, m1,
                  q0, q1, env.fn(), env.env()});
  });
  task.run(gen.fwd().getInt64(s.G * perGroup), Work{0, s.OC * s.OHW() * Kc});
}

// Group `grp` of image n (its input xn) of an Im2col convolution: the
// group's im2col into its part of `buf`, then its GEMM, which reads it at
// once, from L2 (a ResNeXt-50 group's is 225 KB at most; all 32 groups'
// together, 7.2 MB, came back from L3).
void emitGroupIm2colGemm(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, std::array<Value *, 4> xnwyBuf, Value *n,
                         Value *grp, EpilogueEnv &env) {
  auto [xn, w, y, buf] = xnwyBuf;
  auto c = [&](int64_t v) { return b.getInt64(v); };
  int64_t OCg = s.OCg(), OHW = s.OHW(), Kc = s.Kc();
  Value *xg = LlvmGen::floatGep(b, xn, b.CreateMul(grp, c(s.Cg() * s.H * s.W)));
  Value *cg = LlvmGen::floatGep(b, buf, b.CreateMul(grp, c(Kc * OHW)));
  b.CreateCall(gen.kernel("seqk_im2col"), {xg, c(s.Cg()), c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                                            c(s.PH), c(s.PW), c(s.DH), c(s.DW), c(s.OH), c(s.OW), cg, c(0), c(Kc)});
  Value *rowBase = b.CreateAdd(b.CreateMul(n, c(s.OC)), b.CreateMul(grp, c(OCg)));
  env.setRowBase(b, rowBase);
  emitGemm(gen, b, {OCg, OHW, Kc}, LlvmGen::floatGep(b, w, b.CreateMul(grp, c(OCg * Kc))), Kc, cg, OHW,
           LlvmGen::floatGep(b, y, b.CreateMul(rowBase, c(OHW))), OHW, {c(0), c(OCg), c(0), c(OHW)}, env);
}

// An Im2col convolution of many groups on image `image`: a task per group
// (emitGroupIm2colGemm), instead of the whole image's im2col and then its
// GEMM tiles.
void genGroupedIm2colGemm(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *scratch,
                          Value *image) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  Task task(gen, index, "group_gemm");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *buf = task.capture(scratch, "col");
  Value *n = task.capture(image, "image");
  EpilogueEnv env(task, epilogue);
  Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, b.getInt64(s.C * s.H * s.W)));
  emitLoop(b, task.begin(), task.end(), "group", [&](Value *grp) {
    emitGroupIm2colGemm(gen, b, s, {xn, w, y, buf}, n, grp, env);
  });
  task.run(gen.fwd().getInt64(s.G), Work{0, s.OC * s.OHW() * s.Kc()});
}

// One image of a scratch-buffer convolution, whole, in the task: its
// im2col or padded copy in `buf`, then every output channel and position.
void emitConvImage(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const ir::Node &node,
                   ir::ConvAlgorithm algorithm, std::array<Value *, 4> xwyBuf, Value *n, EpilogueEnv &env) {
  const ir::Attrs &a = node.attrs;
  auto [x, w, y, buf] = xwyBuf;
  auto c = [&](int64_t v) { return b.getInt64(v); };
  int64_t OCg = s.OCg(), OHW = s.OHW(), Kc = s.Kc();
  if (algorithm == ir::ConvAlgorithm::Depthwise) {
    env.setRowBase(b, b.CreateMul(n, c(s.C)));
    emitDepthwise(gen, b, s, node, xwyBuf, {n, c(0), c(depthwiseUnits(gen.graph(), node, s))}, env);
    return;
  }
  Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
  if (algorithm == ir::ConvAlgorithm::Packed && ir::isStridedPointwise(a)) {
    // the subsampled copy, then every panel and position of it
    b.CreateCall(gen.kernel("seqk_im2col"), {xn, c(s.C), c(s.H), c(s.W), c(1), c(1), c(s.SH), c(s.SW), c(0), c(0),
                                              c(s.DH), c(s.DW), c(s.OH), c(s.OW), buf, c(0), c(s.C)});
    env.setRowBase(b, b.CreateMul(n, c(s.OC)));
    int64_t TW = ir::packedConvTile(1, OHW).cols;
    b.CreateCall(gen.kernel("seqk_conv2d_pointwise"),
                 {buf, w, LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * OHW))), c(s.C), c(OHW), c(s.OC), c(TW),
                  c(ir::pointwiseLastTile(OHW, TW)), c(0), c(ceilDiv(s.OC, ir::kPackPanelWidth)), c(0), c(OHW),
                  env.fn(), env.env(), env.fused(), ConstantPointerNull::get(b.getPtrTy()), c(0)});
    return;
  }
  if (algorithm != ir::ConvAlgorithm::Im2col) { // a padded copy
    int64_t Hp = s.H + a.pad[0] + a.pad[2], Wp = s.W + a.pad[1] + a.pad[3];
    b.CreateCall(gen.kernel(s.padKernel()), {xn, buf, c(s.C), c(s.H), c(s.W), c(Hp), c(Wp), c(a.pad[0]), c(a.pad[1]),
                                            c(0), c(s.C)});
    if (algorithm == ir::ConvAlgorithm::Packed) {
      Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * OHW)));
      PackedSplit split = packedSplit(s);
      emitPacked(gen, b, s, split, {Hp, Wp}, {buf, w, yn}, {c(0), c(split.panels), c(0), c(s.OH)}, env,
                 {ConstantPointerNull::get(b.getPtrTy()), c(0)}, b.CreateMul(n, c(s.OC)));
      return;
    }
    int64_t positions = (s.OH - 1) * Wp + s.OW;
    emitLoop(b, c(s.G), "group", [&](Value *grp) {
      Value *rowBase = b.CreateAdd(b.CreateMul(n, c(s.OC)), b.CreateMul(grp, c(OCg)));
      env.setRowBase(b, rowBase);
      b.CreateCall(gen.kernel("seqk_conv2d_direct"),
                   {LlvmGen::floatGep(b, buf, b.CreateMul(grp, c(s.Cg() * Hp * Wp))),
                    LlvmGen::floatGep(b, w, b.CreateMul(grp, c(OCg * Kc))),
                    LlvmGen::floatGep(b, y, b.CreateMul(rowBase, c(OHW))), c(s.Cg()), c(Hp), c(Wp), c(s.KH),
                    c(s.KW), c(s.DH), c(s.DW), c(s.OH), c(s.OW), c(0), c(OCg), c(0), c(positions), env.fn(),
                    env.env()});
    });
    return;
  }
  emitLoop(b, c(s.G), "group", [&](Value *grp) { // Im2col
    emitGroupIm2colGemm(gen, b, s, {xn, w, y, buf}, n, grp, env);
  });
}

// A scratch-buffer convolution of `images` images (a forward-side i64):
// min(images, kConvScratchSlots) tasks, task `slot` computing images
// [slot*B/slots, (slot+1)*B/slots) one after the other in slot `slot` of
// the scratch buffer. No barrier per image, and every thread streams its
// own images. A Packed convolution of small images computes them
// ir::packedImageGroup at a time, in fewer slots of more images each (as
// few as keep kSlotMinImages tasks), so that its weights are read once per
// group of images rather than once per image.
void genConvSlots(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                  ir::ConvAlgorithm algorithm, Value *scratch, Value *images) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  int64_t slotFloats = ir::convScratchSlotBytes(g, node) / int64_t(sizeof(float));
  IRBuilder<> &f = gen.fwd();
  int64_t group = ir::packedImageGroup(g, node);
  Value *slots = f.CreateBinaryIntrinsic(Intrinsic::smin, images, f.getInt64(ir::kConvScratchSlots));
  if (group > 1) {
    Value *groups = f.CreateUDiv(f.CreateAdd(images, f.getInt64(group - 1)), f.getInt64(group));
    Value *fewest = f.CreateBinaryIntrinsic(Intrinsic::smin, images, f.getInt64(kSlotMinImages));
    slots = f.CreateBinaryIntrinsic(Intrinsic::smin, f.CreateBinaryIntrinsic(Intrinsic::smax, groups, fewest),
                                    f.getInt64(ir::kConvScratchSlots));
  }

  Task task(gen, index, "slots");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *tscratch = task.capture(scratch, "scratch");
  Value *B = task.capture(images, "images");
  Value *tslots = task.capture(slots, "slots");
  EpilogueEnv env(task, epilogue);
  emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
    Value *first = b.CreateUDiv(b.CreateMul(slot, B), tslots);
    Value *last = b.CreateUDiv(b.CreateMul(b.CreateAdd(slot, b.getInt64(1)), B), tslots);
    Value *buf = LlvmGen::floatGep(b, tscratch, b.CreateMul(slot, b.getInt64(slotFloats)));
    if (group > 1)
      return emitImageRuns(b, first, last, group, [&](Value *n, Value *count) {
        emitPackedImages(gen, b, s, node.attrs, {x, w, y, buf}, {n, count}, ir::paddedImageStride(g, node), env);
      });
    emitLoop(b, first, last, "image", [&](Value *n) {
      emitConvImage(gen, b, s, node, algorithm, {x, w, y, buf}, n, env);
    });
  });
  const ir::Shape &out = g.value(node.output).shape;
  task.run(slots, LlvmGen::workOf(out, s.Kc()));
}

// A scratch-buffer convolution of `images` images (a forward-side i64)
// image by image, each image's steps split over the threads: its padded
// copy or im2col in `scratch`, then its tiles. A Packed convolution of
// small images takes ir::packedImageGroup of them at a time instead.
void genConvImages(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                   ir::ConvAlgorithm algorithm, Value *scratch, Value *images) {
  IRBuilder<> &f = gen.fwd();
  auto oneByOne = [&] {
    emitLoop(f, images, "image", [&](Value *image) {
      if (algorithm == ir::ConvAlgorithm::Im2col && s.G >= kGroupTasksMinGroups)
        return genGroupedIm2colGemm(gen, index, s, epilogue, scratch, image);
      if (algorithm == ir::ConvAlgorithm::Im2col) {
        genIm2col(gen, index, s, scratch, image);
        genConvGemm(gen, index, s, epilogue, false, scratch, image);
        return;
      }
      if (algorithm == ir::ConvAlgorithm::Depthwise)
        return genDepthwise(gen, index, s, epilogue, scratch, image); // copies too
      if (algorithm == ir::ConvAlgorithm::Packed && ir::isStridedPointwise(gen.graph().nodes[size_t(index)].attrs)) {
        genIm2col(gen, index, s, scratch, image); // the subsampled copy
        return genConvPointwise(gen, index, s, epilogue, scratch, image);
      }
      genPadInput(gen, index, s, scratch, image);
      if (algorithm == ir::ConvAlgorithm::Packed)
        genConvPacked(gen, index, s, epilogue, scratch, image);
      else
        genConvDirect(gen, index, s, epilogue, scratch, image);
    });
  };
  int64_t group = ir::packedImageGroup(gen.graph(), gen.graph().nodes[size_t(index)]);
  if (group == 1)
    return oneByOne();
  auto grouped = [&] {
    emitImageRuns(f, f.getInt64(0), images, group, [&](Value *first, Value *count) {
      genPackedImages(gen, index, s, epilogue, scratch, {first, count}, group);
    });
  };
  emitIf(f, f.CreateICmpSGT(images, f.getInt64(1)), "image_groups", grouped, oneByOne);
}

} // namespace

// Conv2d, NCHW in and out. Packed (one group, a shape that suits it, its
// weight in panels): seqk_conv2d_packed, on a zero-padded copy of each
// image when the convolution pads. The others as GEMMs: per image and group, A = the group's
// packed weight rows [OC/g, C/g*KH*KW], B = the im2col of the group's
// input channels [C/g*KH*KW, OH*OW], C = the group's output planes
// [OC/g, OH*OW]. ir::convAlgorithm picks how B is read: a pointwise
// convolution reads its input as B; a stride-1 one reads B's rows as runs
// of a zero-padded copy of the image (seqk_conv2d_direct); a strided one
// gathers B's blocks as the GEMM packs them (seqk_conv2d_gemm), or, on
// narrow planes with a small im2col, writes the im2col to the scratch
// buffer for seqk_gemm. A depthwise convolution uses its own kernels (of
// stride 1 on a padded copy as well).
void genConv2d(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  if (node.fusedInto >= 0)
    return; // computed in the tasks of the convolution it is fused into
  if (const ir::Node *expand = ir::fusedExpansion(g, node))
    return genExpandDepthwise(gen, int(expand - g.nodes.data()), index);
  ConvShape s = convShape(g, node);
  const ir::Shape &out = g.value(node.output).shape;
  ir::ConvAlgorithm algorithm = ir::convAlgorithm(g, node);
  const ir::Node *scale = ir::fusedChannelScale(g, node);
  // On 1x1 images a pointwise convolution is a Linear over the batch's
  // rows of channels: one GEMM call and one epilogue call per image, not
  // one per output channel (an SE block's at batch 1 was 1152 calls of one
  // element each).
  if (algorithm == ir::ConvAlgorithm::Packed && s.pointwise(node.attrs) && s.H == 1 && s.W == 1)
    return genRowsGemm(gen, index, s.C, s.OC, gen.leadingExtent(out, 1));
  // The pointwise kernel applies a convolution's common epilogues in
  // registers (RegisterForm). (The other packed convolutions got no
  // faster that way: ResNet-18 19.8 / 20.0 ms, and MobileNetV2's stem,
  // 27 taps a tile, 0.193 -> 0.215 ms.)
  // So does the lanes kernel of few taps (packedLanes: each vector is
  // one channel's; SqueezeNet's stem, bias and ReLU on each row after it,
  // 393 -> 345 us).
  bool strided = algorithm == ir::ConvAlgorithm::Packed && ir::isStridedPointwise(node.attrs);
  bool pointwise = (algorithm == ir::ConvAlgorithm::Packed && s.pointwise(node.attrs)) || strided;
  // And the depthwise kernel of small planes, a clamp, on its vectors of
  // 16 channels before they are transposed back (MobileNetV2's 960-channel
  // 7x7 layer: 21.0 -> 18.5 us alone; before, 960 calls on 49 outputs each).
  bool lanes = algorithm == ir::ConvAlgorithm::Packed && !pointwise && !scale &&
               (packedLanes(s) || groupLanes(s)); // (column-phased ones are packedLanes too)
  bool depthwiseLanes = algorithm == ir::ConvAlgorithm::Depthwise && ir::depthwiseLanes(g, node);
  // And the other packed convolutions (one group) whose rows are shorter
  // than a vector, where the activation is a curve: the generated epilogue
  // on each channel's few rows is one short loop whose curve waits on
  // itself (LeNet-5's 10x10 layer with Tanh at batch 64: its epilogue 89
  // us, 51 cycles a vector), in the tile it runs on 16 channels at once.
  bool shortRows =
      algorithm == ir::ConvAlgorithm::Packed && !pointwise && !lanes && !scale && s.G == 1 && s.OW < kShortRow;
  Epilogue epilogue(gen, index, epilogueOps(node), channelLayout(out, s.OHW()),
                    pointwise        ? RegisterUse::ChannelsAndTensor
                    : lanes          ? RegisterUse::Channels
                    : shortRows      ? RegisterUse::ChannelsCurve
                    : depthwiseLanes ? RegisterUse::ChannelsClamp
                                     : RegisterUse::None);
  switch (algorithm) {
  case ir::ConvAlgorithm::Pointwise: return genConvGemm(gen, index, s, epilogue, true);
  case ir::ConvAlgorithm::Gathered: return genConvGemm(gen, index, s, epilogue, false);
  case ir::ConvAlgorithm::Winograd: return genConvWinograd(gen, index, s, epilogue);
  case ir::ConvAlgorithm::Packed:
    if (scale)
      return genConvScaled(gen, index, s, epilogue, *scale);
    if (s.pointwise(node.attrs))
      return genConvPointwise(gen, index, s, epilogue);
    if (!ir::convPads(node) && !strided)
      return genConvPacked(gen, index, s, epilogue, gen.valuePtr(node.inputs[0]), nullptr);
    break;
  case ir::ConvAlgorithm::Direct:
  case ir::ConvAlgorithm::Depthwise:
  case ir::ConvAlgorithm::Im2col: break;
  }
  // Image by image, through the scratch buffer: each padded copy or im2col
  // followed at once by the tiles reading it, so that it is still in
  // cache. Several images: slot tasks, each with its own buffer
  // (genConvSlots), no barrier per image. Fewer: each image's steps split
  // over the threads, one after the other, in the first buffer.
  Value *scratch = gen.scratchPtr(index);
  const ir::Shape &in = g.value(node.inputs[0]).shape;
  IRBuilder<> &f = gen.fwd();
  Value *images = gen.leadingExtent(in, 1);
  // (Image by image, the planner gave the convolution one buffer: no slots.)
  int64_t slotMinImages = g.imageSlotBytes ? std::numeric_limits<int64_t>::max() : kSlotMinImages;
  emitIf(f, f.CreateICmpSGE(images, f.getInt64(slotMinImages)), "image_slots",
         [&] { genConvSlots(gen, index, s, epilogue, algorithm, scratch, images); },
         [&] {
           genConvImages(gen, index, s, epilogue, algorithm, scratch, images);
         });
}

} // namespace seq::codegen

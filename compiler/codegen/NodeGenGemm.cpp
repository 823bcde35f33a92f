// NodeGenGemm: Linear, a GEMM on packed weight panels; its epilogue runs
// inside the kernel, on each finished run of outputs. (Conv2d is in
// NodeGenConv.cpp.)
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

namespace {

// Linear tiles (see genLinear). 256 columns: at batch 1 the kernel
// streams rows of W, and longer runs of a row stream measurably faster
// (10 vs 6 GFLOP/s for 1024x1024 on one core) than 64-column blocks.
// On packed weights, down to 128 columns (the row path's four panels)
// when that makes kTasksWanted column blocks: then every row of a batch
// up to kLinearTileRows shares one tile, which reads its weights once.
// Rows per tile: at most kLinearTileRows, fewer when the rows are few,
// so that there are about kTasksWanted tiles; never under
// kLinearMinTileRows.
constexpr int64_t kLinearTileRows = 128;
constexpr int64_t kLinearMinTileRows = 16;
constexpr int64_t kLinearTileCols = 256;
constexpr int64_t kLinearMinTileCols = 128;
// Tiles a parallel op aims for: enough to balance 2 to 4 threads.
constexpr int64_t kTasksWanted = 8;
// seqk.h's SEQK_STREAM_BYTES: weights from which seqk_gemm_packed_stream
// is called.
constexpr int64_t kStreamBytes = int64_t(32) << 20;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// seqk_gemm on C[m0:m1, n0:n1] (`range`); M is `rowsM` when it is known
// only at run time, else MNK[0]. ldb == 0: B is packed in panels
// (seqk_gemm_packed).
void emitGemm(LlvmGen &gen, IRBuilder<> &b, std::array<int64_t, 3> MNK, Value *rowsM, Value *A, int64_t lda,
              Value *B, int64_t ldb, Value *C, int64_t ldc, std::array<Value *, 4> range, const EpilogueEnv &env) {
  auto [M, N, K] = MNK;
  Value *m = rowsM ? rowsM : b.getInt64(M);
  if (ldb == 0) {
    // Weights too large for the caches: the kernel that orders the work
    // for a stream from memory (gemm.c, packedStream).
    bool stream = uint64_t(N) * uint64_t(K) * sizeof(float) >= uint64_t(kStreamBytes);
    b.CreateCall(gen.kernel(stream ? "seqk_gemm_packed_stream" : "seqk_gemm_packed"),
                 {m, b.getInt64(N), b.getInt64(K), A, b.getInt64(lda), B, C,
                                                  b.getInt64(ldc), range[0], range[1], range[2], range[3], env.fn(),
                                                  env.env()});
    return;
  }
  b.CreateCall(gen.kernel("seqk_gemm"), {m, b.getInt64(N), b.getInt64(K), A, b.getInt64(lda), B, b.getInt64(ldb), C,
                                         b.getInt64(ldc), range[0], range[1], range[2], range[3], env.fn(), env.env()});
}

// Columns per Linear tile for N columns (a multiple of the panel width).
int64_t linearTileCols(int64_t N, bool panels) {
  if (!panels)
    return kLinearTileCols;
  int64_t cols = ceilDiv(ceilDiv(N, kTasksWanted), kLinearMinTileCols) * kLinearMinTileCols;
  return std::clamp(cols, kLinearMinTileCols, kLinearTileCols);
}

// Rows per Linear tile for M rows (an i64 in the forward function):
// ceil(M / wanted row blocks) rounded up to 8, within
// [kLinearMinTileRows, kLinearTileRows].
Value *linearTileRows(IRBuilder<> &f, Value *M, int64_t colBlocks) {
  int64_t wantedRowBlocks = std::max<int64_t>(1, ceilDiv(kTasksWanted, colBlocks));
  Value *rows = f.CreateUDiv(f.CreateAdd(M, f.getInt64(wantedRowBlocks - 1)), f.getInt64(wantedRowBlocks));
  rows = f.CreateAnd(f.CreateAdd(rows, f.getInt64(7)), f.getInt64(~int64_t(7)));
  rows = f.CreateBinaryIntrinsic(Intrinsic::smax, rows, f.getInt64(kLinearMinTileRows));
  return f.CreateBinaryIntrinsic(Intrinsic::smin, rows, f.getInt64(kLinearTileRows), nullptr, "tile_rows");
}

// Whether the packed tensor `packed` is laid out in panels (the layout of
// the step writing it).
bool inPanels(const ir::Graph &g, int packed) {
  for (const ir::PackStep &step : g.packSteps)
    if (step.out == packed)
      return step.transpose == ir::kLayoutPanels;
  return false;
}

} // namespace

// ---- Linear -------------------------------------------------------------------
//
// y [M, N] = x [M, K] * W [K, N] (W packed transposed, in panels of
// kPackPanelWidth columns as the pack steps of a lowered model lay it out,
// or as one [K, N] matrix), M = the product of
// all but the last dim (the batch included). Tasks are tiles of up to
// kLinearTileRows rows x linearTileCols columns, column blocks of a row
// block adjacent: a batch-1 MLP splits its columns, so each thread streams
// its own part of W; a larger batch splits rows too, into as many row
// blocks as make about kTasksWanted tiles (linearTileRows, at run time:
// a batch of 64 on 120 columns is 4 tiles of 16 rows, not one of 64).
void genLinear(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &out = g.value(node.output).shape;
  int64_t K = g.value(node.inputs.at(0)).shape.dims.back(), N = out.dims.back();
  genRowsGemm(gen, index, K, N, gen.leadingExtent(out, out.rank() - 1));
}

void genRowsGemm(LlvmGen &gen, int index, int64_t K, int64_t N, Value *M) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &out = g.value(node.output).shape;

  EpilogueLayout layout;
  layout.rowStride = N;
  layout.bias = {ChannelRule::Mode::PerCol, 1, 1, N};
  if (out.rank() >= 2)
    layout.affine = dim1Rule(out, N);
  Epilogue epilogue(gen, index, epilogueOps(node), layout);
  bool panels = inPanels(g, node.attrs.weight);
  static_assert(kLinearTileCols % ir::kPackPanelWidth == 0 && kLinearMinTileCols % ir::kPackPanelWidth == 0,
                "tiles start at a panel");
  int64_t tileCols = linearTileCols(N, panels);

  IRBuilder<> &f = gen.fwd();
  int64_t colBlocks = ceilDiv(N, tileCols);
  Value *tileRows = linearTileRows(f, M, colBlocks);
  Value *rowBlocks = f.CreateUDiv(f.CreateAdd(M, f.CreateSub(tileRows, f.getInt64(1))), tileRows);

  Task task(gen, index, "gemm");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *rows = task.capture(M, "M");
  Value *tRows = task.capture(tileRows, "tile_rows");
  EpilogueEnv env(task, epilogue);
  emitLoop(b, task.begin(), task.end(), "tile", [&](Value *t) {
    Value *m0 = b.CreateMul(b.CreateUDiv(t, b.getInt64(colBlocks)), tRows);
    Value *n0 = b.CreateMul(b.CreateURem(t, b.getInt64(colBlocks)), b.getInt64(tileCols));
    Value *m1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(m0, tRows), rows);
    Value *n1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(n0, b.getInt64(tileCols)), b.getInt64(N));
    emitGemm(gen, b, {0, N, K}, rows, x, K, w, panels ? 0 : N, y, N, {m0, m1, n0, n1}, env);
  });
  task.run(f.CreateMul(rowBlocks, f.getInt64(colBlocks)), LlvmGen::workOf(out, K));
}

} // namespace seq::codegen

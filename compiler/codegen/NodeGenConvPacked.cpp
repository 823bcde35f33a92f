// NodeGenConvPacked: convolutions on packed weights with output channels in
// the vector lanes (seqk_conv2d_packed and its lanes form of few taps):
// the split of a layer into tasks, and the kernel calls of an image or of
// a group's units.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"
#include "codegen/NodeGenConv.h"
#include "codegen/kernels/seqk.h" // SEQK_LANES_CONV_MAX_TAPS
#include "ir/ConvScratch.h"

#include <algorithm>
#include <cstdlib>

namespace seq::codegen {

using namespace llvm;

// seqk_conv2d_packed_lanes' condition (convlanes.c).
static_assert(ir::kLanesConvMaxTaps == SEQK_LANES_CONV_MAX_TAPS, "ir's lanes rule is the kernel's");
static_assert(ConvShape::kLanesPhased == SEQK_LANES_PHASED, "the phased rows' stride code is the kernel's");
static_assert(ir::kLanesPhasedMaxRow == SEQK_PHASED_ROW_MAX, "ir's phased rows fit the kernel's buffer");
bool packedLanes(const ConvShape &s) {
  return s.G == 1 && s.C * s.KH * s.KW <= ir::kLanesConvMaxTaps && s.OW >= ir::kLanesConvMinWidth &&
         (s.SW == 1 || s.SW == 2);
}

namespace {

// The most tasks an image's packed convolution is cut into for balance.
constexpr int64_t kMaxPackedTasks = 2 * kTasksWanted;

// The tile rows that two threads' busier one computes when a layer's
// `panels` panels are cut in blocks of `perTask` of its `rowTiles` tile
// rows, each task going to the thread with less work so far (as the pool's
// threads take them: each its own share, then the other's last ones).
int64_t twoThreadRows(int64_t panels, int64_t rowTiles, int64_t perTask) {
  int64_t load[2] = {0, 0};
  for (int64_t panel = 0; panel < panels; ++panel)
    for (int64_t r = 0; r < rowTiles; r += perTask)
      load[load[1] < load[0] ? 1 : 0] += std::min(perTask, rowTiles - r);
  return std::max(load[0], load[1]);
}

} // namespace

PackedSplit packedSplit(const ConvShape &s) {
  PackedSplit p;
  p.tile = ir::packedConvTile(s.OH, s.OW);
  // grouped (ir::groupedPackedFits): each group's half panel or panels
  p.panels = s.G > 1 ? s.G * ceilDiv(s.OCg(), ir::kPackPanelWidth) : ceilDiv(s.OC, ir::kPackPanelWidth);
  const int64_t rowTiles = ceilDiv(s.OH, p.tile.rows);
  // Blocks of tile rows making about kTasksWanted tasks an image. Where
  // that is an odd number of tasks under kTasksWanted, one of two threads
  // has a task more (an eighth of the layer or more): then the block size
  // of at most kMaxPackedTasks tasks that leaves two threads the least
  // uneven work (of those, the task count nearest kTasksWanted, the more
  // tasks on a tie: a thread that starts late hands over more of them).
  // LeNet-5's 28- and 10-row layers had 7 and 5 tasks (one thread 4 and 3
  // of them), at batch 1 on two threads 3.46 and 4.70 us; in 4 and 10,
  // 3.15 and 4.55. (Every layer's split so chosen made RegNet-X's 25-group
  // layers 175 tasks of a tile row, each reading its panel's weights: the
  // model 5.10 -> 5.25 ms on two threads, AlexNet 2% slower; SqueezeNet
  // 1.0's stem in 12 tasks, not 9, 1%.)
  const int64_t blocks = std::clamp<int64_t>(ceilDiv(kTasksWanted, p.panels), 1, rowTiles);
  int64_t best = ceilDiv(rowTiles, blocks), bestTasks = p.panels * ceilDiv(rowTiles, best);
  if (bestTasks % 2 != 0 && bestTasks < kTasksWanted) {
    int64_t bestRows = twoThreadRows(p.panels, rowTiles, best);
    for (int64_t perTask = 1; perTask <= rowTiles; ++perTask) {
      const int64_t tasks = p.panels * ceilDiv(rowTiles, perTask);
      if (tasks > kMaxPackedTasks)
        continue;
      const int64_t rows = twoThreadRows(p.panels, rowTiles, perTask);
      const int64_t off = std::abs(tasks - kTasksWanted), bestOff = std::abs(bestTasks - kTasksWanted);
      if (rows < bestRows || (rows == bestRows && (off < bestOff || (off == bestOff && tasks > bestTasks)))) {
        best = perTask;
        bestRows = rows;
        bestTasks = tasks;
      }
    }
  }
  p.rowsPerTask = best * p.tile.rows;
  p.rowBlocks = ceilDiv(s.OH, p.rowsPerTask);
  const int64_t weightFloats = s.OC * s.Kc();
  p.rowMajor = s.C * s.H * s.W >= weightFloats ||
               weightFloats * int64_t(sizeof(float)) <= kRowMajorMaxWeightBytes;
  return p;
}


// ---- Kernel calls ----------------------------------------------------------------

namespace {

// A grouped packed convolution's units [u0, u1) (packedSplit's panels: a
// group's half panel, or one of its panels) of one image, rows [r0, r1):
// each unit a call on its group's input planes, its first output
// channel's lanes of the packed weights (16 floats into a panel for the
// second group of a half-panel pair) and its output planes, the epilogue
// rows from that channel on (rowBase: the image's first row).
void emitPackedGroups(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const PackedSplit &split,
                      std::array<int64_t, 2> HpWp, std::array<Value *, 3> xwy, std::array<Value *, 4> range,
                      EpilogueEnv &env, Value *rowBase) {
  auto c = [&](int64_t v) { return b.getInt64(v); };
  const int64_t W = ir::kPackPanelWidth, perGroup = ceilDiv(s.OCg(), W), unitChannels = std::min(s.OCg(), W);
  emitLoop(b, range[0], range[1], "group_unit", [&](Value *u) {
    Value *grp = b.CreateUDiv(u, c(perGroup));
    Value *channel = b.CreateAdd(b.CreateMul(grp, c(s.OCg())), b.CreateMul(b.CreateURem(u, c(perGroup)), c(W)));
    Value *x = LlvmGen::floatGep(b, xwy[0], b.CreateMul(grp, c(s.Cg() * HpWp[0] * HpWp[1])));
    Value *lane = b.CreateAdd(b.CreateMul(b.CreateUDiv(channel, c(W)), c(s.Kc() * W)), b.CreateURem(channel, c(W)));
    Value *w = LlvmGen::floatGep(b, xwy[1], lane);
    Value *y = LlvmGen::floatGep(b, xwy[2], b.CreateMul(channel, c(s.OHW())));
    env.setRowBase(b, b.CreateAdd(rowBase, channel));
    if (groupLanes(s)) { // the epilogue in registers where it has the form (bias and clamp: RegNet's)
      env.setChannelBase(b, channel);
      b.CreateCall(gen.kernel("seqk_conv2d_packed_lanes"),
                   {x, c(0), w, y, c(0), c(1), c(s.Cg()), c(HpWp[0]), c(HpWp[1]), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                    c(s.DH), c(s.DW), c(unitChannels), c(s.OH), c(s.OW), c(0), c(1), range[2], range[3], env.fn(),
                    env.env(), env.fused()});
      return;
    }
    b.CreateCall(gen.kernel("seqk_conv2d_packed"),
                 {x, w, y, c(s.Cg()), c(HpWp[0]), c(HpWp[1]), c(s.KH), c(s.KW), c(s.SH), c(s.SW), c(s.DH), c(s.DW),
                  c(unitChannels), c(s.OH), c(s.OW), c(split.tile.rows), c(split.tile.cols), c(0), c(1), range[2],
                  range[3], env.fn(), env.env(), ConstantPointerNull::get(b.getPtrTy()) /* never in registers */,
                  ConstantPointerNull::get(b.getPtrTy()), c(0)});
  });
}

} // namespace

// seqk_conv2d_packed on one image: input x [C, Hp, Wp], output y, panels
// and rows `range` = {p0, p1, r0, r1}; seqk_conv2d_packed_lanes where it
// computes the convolution (packedLanes), the epilogue maybe in registers;
// a grouped one by emitPackedGroups. rowBase: the image's first epilogue
// row.
void emitPacked(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const PackedSplit &split,
                std::array<int64_t, 2> HpWp, std::array<Value *, 3> xwy, std::array<Value *, 4> range,
                EpilogueEnv &env, std::array<Value *, 2> xl, Value *rowBase) {
  auto c = [&](int64_t v) { return b.getInt64(v); };
  if (s.G > 1)
    return emitPackedGroups(gen, b, s, split, HpWp, xwy, range, env, rowBase);
  env.setRowBase(b, rowBase);
  if (packedLanes(s)) {
    b.CreateCall(gen.kernel("seqk_conv2d_packed_lanes"),
                 {xwy[0], c(0), xwy[1], xwy[2], c(0), c(1), c(s.C), c(HpWp[0]), c(HpWp[1]), c(s.KH), c(s.KW),
                  c(s.SH), c(s.lanesStride()), c(s.DH), c(s.DW), c(s.OC), c(s.OH), c(s.OW), range[0], range[1],
                  range[2], range[3], env.fn(), env.env(), env.fused()});
    return;
  }
  b.CreateCall(gen.kernel("seqk_conv2d_packed"),
               {xwy[0], xwy[1], xwy[2], c(s.C), c(HpWp[0]), c(HpWp[1]), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                c(s.DH), c(s.DW), c(s.OC), c(s.OH), c(s.OW), c(split.tile.rows), c(split.tile.cols), range[0],
                range[1], range[2], range[3], env.fn(), env.env(), env.fused(), xl[0], xl[1]});
}

namespace {

// Panel `panel`'s rows of the row blocks [b0, b1) of an image, as
// emitPacked's range {p0, p1, r0, r1}.
std::array<Value *, 4> packedRun(IRBuilder<> &b, const ConvShape &s, const PackedSplit &split, Value *panel,
                                 Value *b0, Value *b1) {
  Value *r0 = b.CreateMul(b0, b.getInt64(split.rowsPerTask));
  Value *r1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateMul(b1, b.getInt64(split.rowsPerTask)),
                                      b.getInt64(s.OH));
  return {panel, b.CreateAdd(panel, b.getInt64(1)), r0, r1};
}

// The panels and rows of task `t` (< split.tasks()) of an image.
std::array<Value *, 4> packedRange(IRBuilder<> &b, const ConvShape &s, const PackedSplit &split, Value *t) {
  Value *panel, *block;
  if (split.rowMajor) {
    panel = b.CreateURem(t, b.getInt64(split.panels));
    block = b.CreateUDiv(t, b.getInt64(split.panels));
  } else {
    panel = b.CreateUDiv(t, b.getInt64(split.rowBlocks));
    block = b.CreateURem(t, b.getInt64(split.rowBlocks));
  }
  return packedRun(b, s, split, panel, block, b.CreateAdd(block, b.getInt64(1)));
}

} // namespace

// A packed convolution of `xp` (a forward-side pointer): with `image`, the
// zero-padded copy of that image, whose tasks are split over the threads;
// without, the input itself (the convolution does not pad), the tasks of
// every image split.
void genConvPacked(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *xp,
                   Value *image) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Attrs &a = node.attrs;
  int64_t Hp = s.H + a.pad[0] + a.pad[2], Wp = s.W + a.pad[1] + a.pad[3];
  PackedSplit split = packedSplit(s);
  Task task(gen, index, "packed");
  IRBuilder<> &b = task.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *x = task.capture(xp, "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(a.weight), "w");
  Value *fixedImage = image ? task.capture(image, "image") : nullptr;
  EpilogueEnv env(task, epilogue);
  NextWeights next(gen, index, task);
  // A chunk of tasks, image by image; within an image, a run of tasks of
  // one panel (consecutive row blocks) is one call on all their rows: at
  // batch 64, LeNet-5's 10x10 layer was 640 calls of one row each (its
  // split for 2 threads at batch 1, packedSplit), each row's 10 outputs
  // too short to be stored as a vector; merged, 64 calls of 10 rows,
  // whose tiles store whole vectors into the rows after them.
  const bool runs = !split.rowMajor || split.panels == 1;
  emitSegments(b, task.begin(), task.end(), c(split.tasks()), "image", [&](Value *image, Value *lo, Value *hi) {
    Value *n = fixedImage ? fixedImage : image;
    Value *xn = fixedImage ? x : LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * s.OHW())));
    Value *rowBase = b.CreateMul(n, c(s.OC));
    if (!runs) // panels interleaved: one call a task
      return emitLoop(b, lo, hi, "tile", [&](Value *t) {
        emitPacked(gen, b, s, split, {Hp, Wp}, {xn, w, yn}, packedRange(b, s, split, t), env,
                   next.slice(b, t, c(split.tasks()), n), rowBase);
      });
    emitSegments(b, lo, hi, c(split.rowBlocks), "panel", [&](Value *panel, Value *b0, Value *b1) {
      Value *first = b.CreateAdd(b.CreateMul(panel, c(split.rowBlocks)), b0);
      Value *end = b.CreateAdd(first, b.CreateSub(b1, b0));
      emitPacked(gen, b, s, split, {Hp, Wp}, {xn, w, yn}, packedRun(b, s, split, panel, b0, b1), env,
                 next.slice(b, first, c(split.tasks()), n, end), rowBase);
    });
  });
  if (image) {
    task.run(gen.fwd().getInt64(split.tasks()), Work{0, s.OC * s.OHW() * s.Kc()});
    return;
  }
  Value *images = gen.leadingExtent(g.value(node.output).shape, 1);
  task.run(gen.fwd().CreateMul(images, gen.fwd().getInt64(split.tasks())),
           LlvmGen::workOf(g.value(node.output).shape, s.Kc()));
}

} // namespace seq::codegen

// NodeGenConvPointwise: a 1x1 convolution of stride 1 on packed weights
// (seqk_conv2d_pointwise), whole or image by image: a strided one's
// subsampled copy, or with a channel scale fused into it.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"
#include "codegen/NodeGenConv.h"
#include "codegen/ShareKernelCalls.h"
#include "codegen/kernels/seqk.h" // SEQK_POINT_LANES_*
#include "ir/ConvScratch.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace seq::codegen {

using namespace llvm;

namespace {

// A pointwise convolution on packed weights (seqk_conv2d_pointwise): each
// image's plane of HW positions in `chunks` runs of nearly equal length,
// every run computed for every panel of 32 output channels. Runs are at
// most kPointwiseMaxRun positions (the tiles that reuse a block of
// weights while it is in L1), and there are enough of them for about
// kTasksWanted tasks an image. Tasks go run-major, so the tasks a thread
// takes in a row read the same run of the input while it is in L2, unless
// the weights outweigh the input: then panel-major, so that each thread's
// share of the tasks reads its own part of the weights (on 2 threads a
// 960 -> 160 projection at 7x7 reads 614 KB of weights and 188 KB of
// input; split by positions, each core would read all of the weights).
// Small planes go panel-major too: their input, written by a depthwise
// convolution split by channels, is half in the other core's cache
// whichever way they split, and split by positions each core also read
// all of the weights (MobileNetV2's 14 x 14 projections: on 2 threads at
// batch 1 the model 3.46 -> 3.40 ms).
constexpr int64_t kPointwiseMaxRun = 448;
// Planes of at most this many positions split panel-major, into about
// kSmallPlaneTasks tasks: runs shorter than the plane cost the kernel
// more per output (warm, one thread, 384 -> 64 on 196 positions: 55 us in
// one run, 62 in four; 64 -> 384: 64 and 80 us), and the 7x7 layers'
// weights are read once per run.
constexpr int64_t kPointwisePanelMajorPlane = 14 * 14;
constexpr int64_t kSmallPlaneTasks = 2;
constexpr int64_t kOddTasksFine = 5;

// One task of a balanced split (balancedPieces): positions [q0, q1) of
// one panel.
struct Piece {
  int64_t panel, q0, q1;
};

struct PointwiseSplit {
  int64_t panels = 1, chunks = 1, tileCols = 1;
  // every run's last tile width (seqk_conv2d_pointwise's lastTW)
  int64_t lastCols = 1;
  // run k starts at k*HW/chunks rounded to the nearest multiple of align
  int64_t align = 1;
  bool panelMajor = false;
  // When not empty, task t is pieces[t], in place of the panels x chunks
  // grid.
  std::vector<Piece> pieces;
  int64_t tasks() const { return pieces.empty() ? panels * chunks : int64_t(pieces.size()); }
  int64_t runStart(int64_t k, int64_t HW) const {
    return k == chunks ? HW : (k * HW / chunks + align / 2) / align * align;
  }
  // Task t's panel and positions.
  Piece piece(int64_t t, int64_t HW) const {
    if (!pieces.empty())
      return pieces[size_t(t)];
    int64_t panel = panelMajor ? t / chunks : t % panels, chunk = panelMajor ? t % chunks : t / panels;
    return {panel, runStart(chunk, HW), runStart(chunk + 1, HW)};
  }
};

// ---- Two threads' halves of a small plane's tasks ---------------------------
//
// Two threads take the first and the second half of a layer's tasks. On a
// small plane the grid of panels x runs gives them unequal work where the
// panels are (an odd number, or a last one of fewer channels): 3 panels of
// 80 channels in 2 runs gave one thread 48 of 80 channels' work, 21 panels
// one 11 of 21 (EfficientNet-B0's 14x14 and 7x7 layers; on 2 threads at
// batch 1 the other core waited 10-35 us a layer). Then the tasks are whole
// panels and the two pieces of the one panel where the work's halfway
// point falls (cut at a multiple of 16 positions), and, to put the cut
// between the two threads' halves, a whole panel of the smaller side in
// two runs (each piece a task: any thread count still shares them).

int64_t panelWidth(const ConvShape &s, int64_t panel) {
  return std::min(ir::kPackPanelWidth, s.OC - panel * ir::kPackPanelWidth);
}

// The shortest run on which the kernel puts positions in the lanes,
// whatever the panel (its pointPanel), for more than
// SEQK_POINT_LANES_ANY_RUN_MAX_C input channels (fewer: on any run).
int64_t lanesRun(const ConvShape &s) {
  return s.C <= SEQK_POINT_LANES_MAX_C ? SEQK_POINT_LANES_RUN : SEQK_POINT_LANES_ANY_C_RUN;
}

// Whether the runs the plane is cut into take the tiles of TW positions
// (output channels in the lanes; seqk_conv2d_pointwise's pointPanel): then
// they are best whole tiles, cut at multiples of TW. (Exactly so on runs
// under SEQK_POINT_LANES_RUN, which a plane under
// SEQK_POINT_LANES_ANY_C_RUN cut in two leaves but for a few positions; a
// last panel of 8 or 24 channels on a longer run takes positions in the
// lanes, its cut then only a cut like another.) (A run of 96 positions in
// tiles of 14 ends in one moved left, 2 positions computed twice, 14
// multiply-add steps for 12 outputs: MobileNetV2's 576 -> 96 at 14 x 14,
// 3 panels in runs of 96 and 100, took 15 tiles a panel, alone on one
// thread 207 us; in runs of 98, 14 tiles and 193 us.)
bool tilesOnly(const ConvShape &s) {
  return s.C > SEQK_POINT_LANES_PARTIAL_MAX_C && s.OHW() < SEQK_POINT_LANES_ANY_C_RUN;
}

// |first half's work - second half's| / all of it, the tasks' halves as two
// threads take them.
double halvesImbalance(const ConvShape &s, const PointwiseSplit &p) {
  const int64_t HW = s.OHW(), tasks = p.tasks();
  double halves[2] = {0, 0};
  for (int64_t t = 0; t < tasks; ++t) {
    Piece piece = p.piece(t, HW);
    halves[t < tasks / 2 ? 0 : 1] += double(panelWidth(s, piece.panel) * (piece.q1 - piece.q0));
  }
  return std::abs(halves[0] - halves[1]) / (halves[0] + halves[1]);
}

// Whole panels, the cut one's two pieces, and as many of the smaller
// side's whole panels in two runs as make the sides equal in tasks; empty
// where that cannot be. Cuts fall at multiples of `align` positions.
std::vector<Piece> balancedPieces(const ConvShape &s, int64_t panels, int64_t align) {
  const int64_t HW = s.OHW();
  int64_t total = 0;
  for (int64_t p = 0; p < panels; ++p)
    total += panelWidth(s, p) * HW;
  // the panel holding the halfway point, and the cut's position in it:
  // of the multiples of align either side, the one nearer the halfway work
  int64_t k = 0, before = 0;
  while (2 * (before + panelWidth(s, k) * HW) < total)
    before += panelWidth(s, k++) * HW;
  const int64_t w = panelWidth(s, k), exact = (total - 2 * before) / (2 * w);
  int64_t cut = exact / align * align;
  if (std::abs(2 * (before + w * (cut + align)) - total) < std::abs(2 * (before + w * cut) - total))
    cut += align;
  // both pieces at least align positions (the layer's tiles fit its
  // shortest run: a 1-position piece of a 49-position plane would make
  // every tile 1 wide)
  if (cut > 0 && cut < HW)
    cut = std::clamp(cut, align, HW - align);
  cut = std::min(cut, HW);
  std::vector<Piece> left, right;
  for (int64_t p = 0; p < k; ++p)
    left.push_back({p, 0, HW});
  if (cut > 0)
    left.push_back({k, 0, cut});
  if (cut < HW)
    right.push_back({k, cut, HW});
  for (int64_t p = k + 1; p < panels; ++p)
    right.push_back({p, 0, HW});
  const int64_t half = HW / 2 / align * align;
  auto splitWhole = [&](std::vector<Piece> &side) {
    for (size_t i = 0; i < side.size(); ++i)
      if (side[i].q0 == 0 && side[i].q1 == HW && half >= align) {
        Piece second{side[i].panel, half, HW};
        side[i].q1 = half;
        side.insert(side.begin() + std::ptrdiff_t(i) + 1, second);
        return true;
      }
    return false;
  };
  while (left.size() != right.size())
    if (!splitWhole(left.size() < right.size() ? left : right))
      return {};
  left.insert(left.end(), right.begin(), right.end());
  return left;
}

// Imbalances above this take balancedPieces.
constexpr double kMaxHalvesImbalance = 0.04;

// Where the kernel puts positions in the lanes on long runs
// (SEQK_POINT_LANES_MAX_C and SEQK_POINT_LANES_ANY_C_RUN), the runs start at multiples of its block of
// positions, so that only the last has a part block (warm, one thread,
// 128 -> 256 on 784 positions: in two runs of 392, each ending in a
// 16-position tile of a third the speed, 337 us; in one run, 303).
// Otherwise they start at multiples of 16 positions, a cache line, where
// every run stays at least kAlignedMinRun long: no two tasks write one
// line, and the loads and stores of a run's tiles keep their alignment
// (MobileNetV2's 144 -> 32 projection at 56 x 56 in runs of 392, every
// other one starting mid-line, took 185 us; in runs of 448, 158).
constexpr int64_t kAlignedMinRun = 64;

void alignRuns(const ConvShape &s, PointwiseSplit &p) {
  const int64_t HW = s.OHW();
  if (p.chunks < 2)
    return;
  auto tryAlign = [&](int64_t align, int64_t minRun) {
    PointwiseSplit aligned = p;
    aligned.align = align;
    for (int64_t k = 0; k < p.chunks; ++k)
      if (aligned.runStart(k + 1, HW) - aligned.runStart(k, HW) < minRun)
        return false;
    p = aligned;
    return true;
  };
  if (tryAlign(SEQK_POINT_LANES_BLOCK, lanesRun(s)))
    return;
  if (tilesOnly(s)) { // whole tiles of the plane's width
    const int64_t planeTile = ir::packedConvTile(1, HW).cols;
    if (tryAlign(planeTile, planeTile)) {
      p.tileCols = planeTile;
      return;
    }
  }
  tryAlign(16, kAlignedMinRun);
}

// The last tile width of the split's runs (ir::pointwiseLastTile) when
// they all leave the same, else tileCols: the kernel gets one constant
// (the tile kernels of other widths are then not compiled), and takes
// the last tile moved left for a run that leaves something else.
int64_t lastTileCols(const PointwiseSplit &p, int64_t HW) {
  std::vector<int64_t> runs;
  if (!p.pieces.empty())
    for (const Piece &piece : p.pieces)
      runs.push_back(piece.q1 - piece.q0);
  else
    for (int64_t k = 0; k < p.chunks; ++k)
      runs.push_back(p.runStart(k + 1, HW) - p.runStart(k, HW));
  // (a run of whole tiles has no last tile: any width suits it)
  std::erase_if(runs, [&](int64_t run) { return run % p.tileCols == 0; });
  if (runs.empty())
    return p.tileCols;
  int64_t last = ir::pointwiseLastTile(runs.front(), p.tileCols);
  for (int64_t run : runs)
    if (ir::pointwiseLastTile(run, p.tileCols) != last)
      return p.tileCols;
  return last;
}

PointwiseSplit pointwiseSplit(const ConvShape &s) {
  PointwiseSplit p;
  int64_t HW = s.OHW(), widest = ir::packedConvTile(1, 14).cols;
  p.panels = ceilDiv(s.OC, ir::kPackPanelWidth);
  const int64_t fewest = ceilDiv(HW, kPointwiseMaxRun), most = std::max<int64_t>(1, HW / widest);
  const int64_t wanted = HW <= kPointwisePanelMajorPlane ? kSmallPlaneTasks : kTasksWanted;
  p.chunks = std::clamp<int64_t>(std::max(fewest, ceilDiv(wanted, p.panels)), 1, most);
  // Runs as long as the kernel needs to put positions in the lanes (the
  // faster tiles there) where the whole plane is, when that still leaves
  // two tasks: MobileNetV2's 192 -> 32 at 28 x 28 in 8 runs of 98, output
  // channels in the lanes, took 90 us alone on one thread; in 2 of 392,
  // 82.
  int64_t mostRuns = most;
  if (HW > kPointwisePanelMajorPlane && s.C > SEQK_POINT_LANES_ANY_RUN_MAX_C) {
    const int64_t laneRuns = HW / lanesRun(s); // the most runs that long
    if (laneRuns >= fewest && p.panels * laneRuns >= 2) {
      mostRuns = laneRuns;
      p.chunks = std::min(p.chunks, laneRuns);
    }
  }
  // an even number of tasks, which two threads share evenly: one run fewer
  // where that leaves at least 4 tasks of runs not too long, else one more
  // (3 panels in 2 runs of a 14x14 plane, not 3: 9 tasks kept a core
  // waiting a ninth of MobileNetV2's and EfficientNet's projections). Not
  // for kOddTasksFine tasks or more: one task more on one of 2 threads
  // costs less than runs of half the plane on both (EfficientNet-B0's 112
  // -> 672 at 14 x 14, 21 panels, one thread: 241 us in 21 tasks, 263 in
  // 42).
  if (p.panels * p.chunks % 2 != 0 && p.panels * p.chunks < kOddTasksFine) {
    if (p.chunks - 1 >= std::max<int64_t>(fewest, 1) && p.panels * (p.chunks - 1) >= 4)
      --p.chunks;
    else if (p.chunks + 1 <= mostRuns)
      ++p.chunks;
  }
  p.tileCols = ir::packedConvTile(1, HW / p.chunks).cols; // fits the shortest run
  alignRuns(s, p);
  // the weights [OC, C] outweigh the input [C, HW], or a small plane
  p.panelMajor = s.OC > HW || HW <= kPointwisePanelMajorPlane;
  if (HW <= kPointwisePanelMajorPlane && HW >= 32 && halvesImbalance(s, p) > kMaxHalvesImbalance) {
    // pieces of whole tiles of the plane's width where every run takes
    // them (MobileNetV2's 960 -> 160 at 7 x 7, 5 panels, one cut at 32:
    // every run in tiles of 9, 6 a whole panel, 149 us alone on one thread,
    // 80 on two; cut at 26, tiles of 13 and a last of 10, 136 and 69 us)
    const int64_t planeTile = ir::packedConvTile(1, HW).cols;
    const bool whole = tilesOnly(s) && HW >= 2 * planeTile;
    p.pieces = balancedPieces(s, p.panels, whole ? planeTile : 16);
    int64_t shortest = HW;
    for (const Piece &piece : p.pieces)
      shortest = std::min(shortest, piece.q1 - piece.q0);
    p.tileCols = whole && shortest >= planeTile ? planeTile : ir::packedConvTile(1, shortest).cols;
  }
  p.lastCols = lastTileCols(p, HW);
  return p;
}

// seqk_conv2d_pointwise's arguments C, HW and OC.
constexpr unsigned kPointwiseC = 3, kPointwiseHW = 4, kPointwiseOC = 5;

} // namespace

// Tasks as pointwiseSplit says (NodeGenConv.h).
void genConvPointwise(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *sub,
                      Value *image, Value *weights) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  PointwiseSplit split = pointwiseSplit(s);
  int64_t HW = s.OHW();
  Task task(gen, index, "pointwise");
  IRBuilder<> &b = task.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *x = task.capture(sub ? sub : gen.valuePtr(node.inputs[0]), "x");
  Value *first = sub ? task.capture(image, "image") : nullptr;
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(weights ? weights : gen.packedPtr(node.attrs.weight), "w");
  EpilogueEnv env(task, epilogue);
  NextWeights next(gen, index, task);
  Value *pieces = nullptr;
  if (!split.pieces.empty()) {
    std::vector<int64_t> table;
    for (const Piece &piece : split.pieces)
      table.insert(table.end(), {piece.panel, piece.q0, piece.q1});
    pieces = constantArray(gen, index, "pieces", table);
  }
  emitLoop(b, task.begin(), task.end(), "tile", [&](Value *t) {
    Value *n = b.CreateUDiv(t, c(split.tasks()));
    Value *inImage = b.CreateURem(t, c(split.tasks()));
    Value *xImage = n;
    if (first) { // one image, its copy at sub
      n = first;
      xImage = c(0);
    }
    auto xl = next.slice(b, inImage, c(split.tasks()), n);
    Value *panel, *q0, *q1;
    if (pieces) { // split.pieces[inImage]
      auto field = [&](int64_t i) {
        Value *at = b.CreateAdd(b.CreateMul(inImage, c(3)), c(i));
        return b.CreateLoad(b.getInt64Ty(), b.CreateGEP(b.getInt64Ty(), pieces, at));
      };
      panel = field(0), q0 = field(1), q1 = field(2);
    } else {
      Value *chunk = split.panelMajor ? b.CreateURem(inImage, c(split.chunks)) : b.CreateUDiv(inImage, c(split.panels));
      panel = split.panelMajor ? b.CreateUDiv(inImage, c(split.chunks)) : b.CreateURem(inImage, c(split.panels));
      // split.runStart(chunk) and split.runStart(chunk + 1)
      auto runStart = [&](Value *k) {
        Value *even = b.CreateUDiv(b.CreateMul(k, c(HW)), c(split.chunks));
        if (split.align == 1)
          return even;
        Value *aligned = b.CreateMul(b.CreateUDiv(b.CreateAdd(even, c(split.align / 2)), c(split.align)),
                                     c(split.align));
        return b.CreateSelect(b.CreateICmpEQ(k, c(split.chunks)), c(HW), aligned);
      };
      q0 = runStart(chunk), q1 = runStart(b.CreateAdd(chunk, c(1)));
    }
    Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(xImage, c(s.C * HW)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * HW)));
    env.setRowBase(b, b.CreateMul(n, c(s.OC)));
    CallInst *call = b.CreateCall(gen.kernel("seqk_conv2d_pointwise"),
                                  {xn, w, yn, c(s.C), c(HW), c(s.OC), c(split.tileCols), c(split.lastCols), panel,
                                   b.CreateAdd(panel, c(1)), q0, q1, env.fn(), env.env(), env.fused(), xl[0], xl[1]});
    // The shapes only bound the driver's loops and pick between its paths
    // at run time (its tile kernels take them as values): the layers of one
    // tile width share one specialisation (DenseNet-169's 84: its build's
    // CPU time 1.70 -> 1.39 s).
    markRunTimeArgs(call, {kPointwiseC, kPointwiseHW, kPointwiseOC});
  });
  Value *images = sub ? gen.fwd().getInt64(1) : gen.leadingExtent(g.value(node.output).shape, 1);
  task.run(gen.fwd().CreateMul(images, gen.fwd().getInt64(split.tasks())),
           sub ? Work{0, s.OC * HW * s.Kc()} : LlvmGen::workOf(g.value(node.output).shape, s.Kc()));
}

// A channel scale (x * s, s [B, C, 1, 1]) fused into the pointwise
// convolution reading it (passes::fuseChannelScale): image by image, the
// packed weights times s[n] by input channel into the scratch buffer, a
// task per panel, then the convolution of x[n] on them.
void genConvScaled(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, const ir::Node &mul) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  ir::ChannelScale operands = ir::channelScaleOperands(g, mul);
  const int64_t panels = ceilDiv(s.OC, ir::kPackPanelWidth), W = ir::kPackPanelWidth;
  Value *scratch = gen.scratchPtr(index);
  IRBuilder<> &f = gen.fwd();
  emitLoop(f, gen.leadingExtent(g.value(node.output).shape, 1), "image", [&](Value *n) {
    Task task(gen, index, "scale_weights");
    IRBuilder<> &b = task.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
    Value *scaled = task.capture(scratch, "scaled");
    Value *sn = task.capture(LlvmGen::floatGep(f, gen.valuePtr(operands.scale), f.CreateMul(n, f.getInt64(s.C))),
                             "s");
    emitLoop(b, task.begin(), task.end(), "panel", [&](Value *p) {
      emitLoop(b, c(s.C), "channel", [&](Value *ch) {
        Value *scale = b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, sn, ch));
        Value *row = b.CreateMul(b.CreateAdd(b.CreateMul(p, c(s.C)), ch), c(W));
        emitLoop(b, c(W), "lane", [&](Value *j) {
          Value *at = b.CreateAdd(row, j);
          Value *v = b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, w, at));
          b.CreateStore(b.CreateFMul(v, scale), LlvmGen::floatGep(b, scaled, at));
        });
      });
    });
    task.run(f.getInt64(panels), Work{0, panels * W * s.C});
    Value *xn = LlvmGen::floatGep(f, gen.valuePtr(operands.x), f.CreateMul(n, f.getInt64(s.C * s.OHW())));
    genConvPointwise(gen, index, s, epilogue, xn, n, scratch);
  });
}

} // namespace seq::codegen

// NodeGenConvPointwise: a 1x1 convolution of stride 1 on packed weights
// (seqk_conv2d_pointwise), whole or image by image: a strided one's
// subsampled copy, or with a channel scale fused into it.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"
#include "codegen/NodeGenConv.h"
#include "codegen/kernels/seqk.h" // SEQK_POINT_LANES_*
#include "ir/ConvScratch.h"

#include <algorithm>

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

struct PointwiseSplit {
  int64_t panels = 1, chunks = 1, tileCols = 1;
  // run k starts at k*HW/chunks rounded to the nearest multiple of align
  int64_t align = 1;
  bool panelMajor = false;
  int64_t tasks() const { return panels * chunks; }
  int64_t runStart(int64_t k, int64_t HW) const {
    return k == chunks ? HW : (k * HW / chunks + align / 2) / align * align;
  }
};

// Where the kernel puts positions in the lanes on long runs
// (SEQK_POINT_LANES_MAX_C), the runs start at multiples of its block of
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
  if (s.C <= SEQK_POINT_LANES_MAX_C && tryAlign(SEQK_POINT_LANES_BLOCK, SEQK_POINT_LANES_RUN))
    return;
  tryAlign(16, kAlignedMinRun);
}

PointwiseSplit pointwiseSplit(const ConvShape &s) {
  PointwiseSplit p;
  int64_t HW = s.OHW(), widest = ir::packedConvTile(1, 14).cols;
  p.panels = ceilDiv(s.OC, ir::kPackPanelWidth);
  const int64_t fewest = ceilDiv(HW, kPointwiseMaxRun), most = std::max<int64_t>(1, HW / widest);
  const int64_t wanted = HW <= kPointwisePanelMajorPlane ? kSmallPlaneTasks : kTasksWanted;
  p.chunks = std::clamp<int64_t>(std::max(fewest, ceilDiv(wanted, p.panels)), 1, most);
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
    else if (p.chunks + 1 <= most)
      ++p.chunks;
  }
  p.tileCols = ir::packedConvTile(1, HW / p.chunks).cols; // fits the shortest run
  alignRuns(s, p);
  // the weights [OC, C] outweigh the input [C, HW], or a small plane
  p.panelMajor = s.OC > HW || HW <= kPointwisePanelMajorPlane;
  return p;
}

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
  emitLoop(b, task.begin(), task.end(), "tile", [&](Value *t) {
    Value *n = b.CreateUDiv(t, c(split.tasks()));
    Value *inImage = b.CreateURem(t, c(split.tasks()));
    Value *xImage = n;
    if (first) { // one image, its copy at sub
      n = first;
      xImage = c(0);
    }
    auto xl = next.slice(b, inImage, c(split.tasks()), n);
    Value *chunk = split.panelMajor ? b.CreateURem(inImage, c(split.chunks)) : b.CreateUDiv(inImage, c(split.panels));
    Value *panel = split.panelMajor ? b.CreateUDiv(inImage, c(split.chunks)) : b.CreateURem(inImage, c(split.panels));
    // split.runStart(chunk) and split.runStart(chunk + 1)
    auto runStart = [&](Value *k) {
      Value *even = b.CreateUDiv(b.CreateMul(k, c(HW)), c(split.chunks));
      if (split.align == 1)
        return even;
      Value *aligned = b.CreateMul(b.CreateUDiv(b.CreateAdd(even, c(split.align / 2)), c(split.align)),
                                   c(split.align));
      return b.CreateSelect(b.CreateICmpEQ(k, c(split.chunks)), c(HW), aligned);
    };
    Value *q0 = runStart(chunk), *q1 = runStart(b.CreateAdd(chunk, c(1)));
    Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(xImage, c(s.C * HW)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * HW)));
    env.setRowBase(b, b.CreateMul(n, c(s.OC)));
    b.CreateCall(gen.kernel("seqk_conv2d_pointwise"),
                 {xn, w, yn, c(s.C), c(HW), c(s.OC), c(split.tileCols), panel, b.CreateAdd(panel, c(1)), q0, q1,
                  env.fn(), env.env(), env.fused(), xl[0], xl[1]});
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

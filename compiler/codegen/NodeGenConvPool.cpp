// NodeGenConvPool: a convolution fused into the max pool reading it
// (passes::fuseConvMaxPool, ir::ConvPoolPlan), image by image: the
// convolution's padded copy of the image when it pads (its channels split
// over the threads), then the image's bands of pooled rows in slot tasks
// (two a thread, at most kConvScratchSlots), each band's convolution rows
// computed into the slot's buffer by the packed kernels, then pooled
// (seqk_maxpool2d_band) while they are in L2.
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGenConv.h"
#include "ir/ConvPool.h"

#include <array>

namespace seq::codegen {

using namespace llvm;

void genConvMaxPool(LlvmGen &gen, int convIndex, int poolIndex) {
  const ir::Graph &g = gen.graph();
  const ir::Node &conv = g.nodes[size_t(convIndex)], &pool = g.nodes[size_t(poolIndex)];
  const ir::Attrs &a = conv.attrs, &pa = pool.attrs;
  const ConvShape s = convShape(g, conv);
  const ir::ConvPoolPlan plan = ir::convPoolPlan(g, pool);
  const ir::Shape &out = g.value(pool.output).shape;
  const int64_t POH = out.dims.at(2), POW = out.dims.at(3);
  const bool pads = ir::convPads(conv);
  const int64_t Hp = pads ? s.H + a.pad[0] + a.pad[2] : s.H, Wp = pads ? s.W + a.pad[1] + a.pad[3] : s.W;
  // A band: the convolution on plan.convRows rows at most (its tiles and
  // its buffer's planes), as genConv2d would run it on the whole image
  ConvShape band = s;
  band.OH = plan.convRows;
  const PackedSplit split = packedSplit(band);
  Epilogue epilogue(gen, convIndex, epilogueOps(conv), channelLayout(g.value(conv.output).shape, s.OHW()),
                    packedLanes(s) ? RegisterUse::Channels : RegisterUse::None);
  const int64_t slotFloats = plan.slotBytes() / int64_t(sizeof(float));

  IRBuilder<> &f = gen.fwd();
  Value *scratch = pads ? gen.scratchPtr(convIndex) : nullptr;
  Value *buffers = gen.scratchPtr(poolIndex);
  Value *slots = emitSlotCount(gen, plan.bands);
  emitLoop(f, gen.leadingExtent(g.value(conv.inputs[0]).shape, 1), "image", [&](Value *image) {
    if (pads)
      genPadInput(gen, convIndex, s, scratch, image);
    Task task(gen, poolIndex, "conv_pool");
    IRBuilder<> &b = task.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *n = task.capture(image, "image");
    Value *x = pads ? task.capture(scratch, "xp")
                    : LlvmGen::floatGep(b, task.capture(gen.valuePtr(conv.inputs[0]), "x"),
                                        b.CreateMul(n, c(s.C * s.H * s.W)));
    Value *w = task.capture(gen.packedPtr(a.weight), "w");
    Value *y = LlvmGen::floatGep(b, task.capture(gen.valuePtr(pool.output), "y"), b.CreateMul(n, c(s.OC * POH * POW)));
    Value *tbuffers = task.capture(buffers, "bands");
    Value *tslots = task.capture(slots, "slots");
    EpilogueEnv env(task, epilogue);
    // the next layers' weights, a slice a band, as the convolution alone
    // would prefetch them
    NextWeights next(gen, convIndex, task);
    emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
      Value *buf = LlvmGen::floatGep(b, tbuffers, b.CreateMul(slot, c(slotFloats)));
      // the slot's first band (emitSlotRun's t0): the bands after it find
      // the rows they share with the one before in the buffer
      Value *first = b.CreateUDiv(b.CreateMul(slot, c(plan.bands)), tslots);
      emitSlotRun(b, slot, tslots, c(plan.bands), [&](Value *k) {
        // ir::ConvPoolPlan::band, in IR
        auto rowsOf = [&](Value *r0, Value *r1) -> std::array<Value *, 3> {
          Value *top = b.CreateSub(b.CreateMul(r0, c(plan.stride)), c(plan.pad));
          Value *lo = b.CreateBinaryIntrinsic(Intrinsic::smax, top, c(0));
          Value *last = b.CreateSub(b.CreateMul(b.CreateSub(r1, c(1)), c(plan.stride)), c(plan.pad));
          Value *hi = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(last, c(plan.reach)), c(plan.rows));
          return {top, lo, hi};
        };
        Value *r0 = b.CreateMul(k, c(plan.bandRows));
        Value *r1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(r0, c(plan.bandRows)), c(plan.poolRows));
        auto [top, lo, hi] = rowsOf(r0, r1);
        // rows [lo, prevHi) the band before computed: moved to the
        // buffer's top from where they are, not computed again
        std::array<Value *, 3> prev = rowsOf(b.CreateSub(r0, c(plan.bandRows)), r0); // (top, lo, hi)
        Value *carried = b.CreateSelect(b.CreateICmpUGT(k, first),
                                        b.CreateBinaryIntrinsic(Intrinsic::smax, b.CreateSub(prev[2], lo), c(0)), c(0));
        emitIf(b, b.CreateICmpSGT(carried, c(0)), "carry", [&] {
          Value *from = b.CreateMul(b.CreateSub(lo, prev[1]), c(s.OW));
          emitLoop(b, c(s.OC), "plane", [&](Value *m) {
            Value *plane = LlvmGen::floatGep(b, buf, b.CreateMul(m, c(plan.convRows * s.OW)));
            b.CreateMemMove(plane, MaybeAlign(4), LlvmGen::floatGep(b, plane, from), MaybeAlign(4),
                            b.CreateMul(carried, c(s.OW * int64_t(sizeof(float)))));
          });
        }, [] {});
        Value *start = b.CreateAdd(lo, carried);
        // the convolution's rows [start, hi): of the input rows from
        // start * SH on, as a convolution of plan.convRows rows into the
        // buffer's planes from row `carried` on
        Value *xb = LlvmGen::floatGep(b, x, b.CreateMul(start, c(s.SH * Wp)));
        Value *yb = LlvmGen::floatGep(b, buf, b.CreateMul(carried, c(s.OW)));
        emitPacked(gen, b, band, split, {Hp, Wp}, {xb, w, yb}, {c(0), c(split.panels), c(0), b.CreateSub(hi, start)},
                   env, next.slice(b, k, c(plan.bands), n), b.CreateMul(n, c(s.OC)));
        b.CreateCall(gen.kernel("seqk_maxpool2d_band"),
                     {buf, c(plan.convRows * s.OW), LlvmGen::floatGep(b, y, b.CreateMul(r0, c(POW))), c(POH * POW),
                      b.CreateSub(hi, lo), c(s.OW), c(pa.kernel[0]), c(pa.kernel[1]), c(pa.stride[0]),
                      c(pa.stride[1]), b.CreateSub(lo, top), c(pa.pad[1]), c(pa.dilation[0]), c(pa.dilation[1]),
                      b.CreateSub(r1, r0), c(POW), c(s.OC)});
      });
    });
    task.run(slots, Work{0, s.OC * s.OHW() * s.Kc()});
  });
}

} // namespace seq::codegen

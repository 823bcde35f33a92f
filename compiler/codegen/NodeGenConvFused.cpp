// NodeGenConvFused: convolution tasks that span more than one node or
// image: a 1x1 expansion computed inside the depthwise convolution reading
// it, band by band (ir::ExpandDepthwisePlan), and several small images of
// a padded Packed convolution in one kernel call (ir::packedImageGroup).
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGenConv.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

void emitImageRuns(IRBuilder<> &b, Value *first, Value *last, int64_t group,
                   function_ref<void(Value *, Value *)> body) {
  Value *runs = b.CreateUDiv(b.CreateAdd(b.CreateSub(last, first), b.getInt64(group - 1)), b.getInt64(group));
  emitLoop(b, runs, "images", [&](Value *k) {
    Value *n = b.CreateAdd(first, b.CreateMul(k, b.getInt64(group)));
    body(n, b.CreateBinaryIntrinsic(Intrinsic::smin, b.getInt64(group), b.CreateSub(last, n)));
  });
}

Value *emitSlotCount(LlvmGen &gen, int64_t tasks) {
  IRBuilder<> &f = gen.fwd();
  Value *threads = f.CreateSExt(f.CreateCall(gen.runtimeFn("seqrt_context_threads"), {gen.contextArg()}),
                                f.getInt64Ty());
  Value *slots = f.CreateBinaryIntrinsic(Intrinsic::smin, f.CreateMul(threads, f.getInt64(2)),
                                         f.getInt64(std::min(ir::kConvScratchSlots, tasks)));
  return f.CreateBinaryIntrinsic(Intrinsic::smax, slots, f.getInt64(1));
}

void emitSlotRun(IRBuilder<> &b, Value *slot, Value *slots, Value *tasks, function_ref<void(Value *)> body) {
  Value *t0 = b.CreateUDiv(b.CreateMul(slot, tasks), slots);
  Value *t1 = b.CreateUDiv(b.CreateMul(b.CreateAdd(slot, b.getInt64(1)), tasks), slots);
  emitLoop(b, t0, t1, "part", body);
}

namespace {

// Channels [c0, c1) of the input image at xn zero-padded into xp.
void emitPad(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const ir::Attrs &a, Value *xn, Value *xp, Value *c0,
             Value *c1) {
  auto c = [&](int64_t v) { return b.getInt64(v); };
  b.CreateCall(gen.kernel(s.padKernel()), {xn, xp, c(s.C), c(s.H), c(s.W), c(s.H + a.pad[0] + a.pad[2]),
                                          c(s.W + a.pad[1] + a.pad[3]), c(a.pad[0]), c(a.pad[1]), c0, c1});
}

// seqk_conv2d_packed_images on `count` padded images, imageStride floats
// apart from xp, into image-major yn: panels [p0, p1), every row.
void emitPackedImagesCall(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const ir::Attrs &a,
                          std::array<Value *, 3> xpWYn, Value *count, int64_t imageStride,
                          std::array<Value *, 2> panels, const EpilogueEnv &env) {
  auto c = [&](int64_t v) { return b.getInt64(v); };
  if (packedLanes(s)) { // (emitPacked's)
    b.CreateCall(gen.kernel("seqk_conv2d_packed_lanes"),
                 {xpWYn[0], c(imageStride), xpWYn[1], xpWYn[2], c(s.OC * s.OHW()), count, c(s.C),
                  c(s.H + a.pad[0] + a.pad[2]), c(s.W + a.pad[1] + a.pad[3]), c(s.KH), c(s.KW), c(s.SH),
                  c(s.lanesStride()), c(s.DH), c(s.DW), c(s.OC), c(s.OH), c(s.OW), panels[0], panels[1], c(0),
                  c(s.OH), env.fn(), env.env(), env.fused()});
    return;
  }
  PackedSplit split = packedSplit(s);
  b.CreateCall(gen.kernel("seqk_conv2d_packed_images"),
               {xpWYn[0], c(imageStride), xpWYn[1], xpWYn[2], c(s.OC * s.OHW()), count, c(s.C),
                c(s.H + a.pad[0] + a.pad[2]), c(s.W + a.pad[1] + a.pad[3]), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                c(s.DH), c(s.DW), c(s.OC), c(s.OH), c(s.OW), c(split.tile.rows), c(split.tile.cols), panels[0],
                panels[1], c(0), c(s.OH), env.fn(), env.env(), env.fused(), ConstantPointerNull::get(b.getPtrTy()),
                c(0)});
}

} // namespace

// `count` images from image `n` of a padded Packed convolution in one
// kernel call (ir::packedImageGroup): their padded copies one after the
// other in `buf`, then seqk_conv2d_packed_images on all of them.
void emitPackedImages(LlvmGen &gen, IRBuilder<> &b, const ConvShape &s, const ir::Attrs &a,
                      std::array<Value *, 4> xwyBuf, std::array<Value *, 2> nCount, int64_t imageStride,
                      EpilogueEnv &env) {
  auto [x, w, y, buf] = xwyBuf;
  auto [n, count] = nCount;
  auto c = [&](int64_t v) { return b.getInt64(v); };
  emitLoop(b, count, "pad", [&](Value *i) {
    Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(b.CreateAdd(n, i), c(s.C * s.H * s.W)));
    emitPad(gen, b, s, a, xn, LlvmGen::floatGep(b, buf, b.CreateMul(i, c(imageStride))), c(0), c(s.C));
  });
  env.setRowBase(b, b.CreateMul(n, c(s.OC)));
  Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * s.OHW())));
  emitPackedImagesCall(gen, b, s, a, {buf, w, yn}, count, imageStride, {c(0), c(packedSplit(s).panels)}, env);
}

// `count` images from image `first` (forward-side i64s, count <= group)
// of a padded Packed convolution, their steps split over the threads:
// their padded copies one after the other in `xp` (tasks of one channel of
// one image), then seqk_conv2d_packed_images on all of them (tasks of one
// panel).
void genPackedImages(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, Value *xp,
                     std::array<Value *, 2> firstCount, int64_t group) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Attrs &a = node.attrs;
  int64_t imageStride = ir::paddedImageStride(g, node);
  IRBuilder<> &f = gen.fwd();
  {
    Task task(gen, index, "pad_images");
    IRBuilder<> &b = task.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
    Value *txp = task.capture(xp, "xp");
    Value *first = task.capture(firstCount[0], "first");
    emitLoop(b, task.begin(), task.end(), "plane", [&](Value *t) {
      Value *i = b.CreateUDiv(t, c(s.C)), *ch = b.CreateURem(t, c(s.C));
      Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(b.CreateAdd(first, i), c(s.C * s.H * s.W)));
      emitPad(gen, b, s, a, xn, LlvmGen::floatGep(b, txp, b.CreateMul(i, c(imageStride))), ch,
              b.CreateAdd(ch, c(1)));
    });
    task.run(f.CreateMul(firstCount[1], f.getInt64(s.C)), Work{0, kCopyStepsPerFloat * group * imageStride});
  }
  Task task(gen, index, "packed_images");
  IRBuilder<> &b = task.b();
  Value *txp = task.capture(xp, "xp");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(a.weight), "w");
  Value *first = task.capture(firstCount[0], "first");
  Value *count = task.capture(firstCount[1], "count");
  EpilogueEnv env(task, epilogue);
  env.setRowBase(b, b.CreateMul(first, b.getInt64(s.OC)));
  Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(first, b.getInt64(s.OC * s.OHW())));
  emitLoop(b, task.begin(), task.end(), "panel", [&](Value *p) {
    emitPackedImagesCall(gen, b, s, a, {txp, w, yn}, count, imageStride, {p, b.CreateAdd(p, b.getInt64(1))}, env);
  });
  task.run(f.getInt64(packedSplit(s).panels), Work{0, group * s.OC * s.OHW() * s.Kc()});
}

// A 1x1 expansion (node `expandIndex`) fused into the depthwise convolution
// `index` reading it (ir::ExpandDepthwisePlan), image by image: each image's
// tasks of (band of output rows, panel of 32 channels), band-major, go to
// slot tasks in contiguous runs (two a thread, at most kConvScratchSlots:
// few buffers, each reused while it is in L2), each with its own scratch:
// the panel's expanded rows the band reads, then the band. With 16
// channels in the lanes where it can (seqk_expand_depthwise_lanes: both
// halves in one call, no per-channel copy; MobileNetV2 at batch 1 5.30 ->
// 4.94 ms, EfficientNet-B0 10.16 -> 9.30 on 1 thread), else on planes
// (seqk_conv2d_pointwise_rows with the expansion's epilogue, then
// seqk_depthwise2d_phased_rows). A slot's consecutive tasks read the
// same input rows while they are in cache; the expansion's output value
// is never written.
void genExpandDepthwise(LlvmGen &gen, int expandIndex, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &expand = g.nodes[size_t(expandIndex)], &node = g.nodes[size_t(index)];
  ConvShape e = convShape(g, expand), s = convShape(g, node);
  const ir::Attrs &a = node.attrs;
  ir::ExpandDepthwisePlan plan = ir::expandDepthwisePlan(g, node);
  int64_t HW = s.H * s.W, Wq = ir::depthwisePhaseWidth(a, s.OH, s.OW);
  int64_t bandPlane = plan.inputRows * s.W;
  int64_t slotFloats = ir::convScratchSlotBytes(g, node) / int64_t(sizeof(float));
  int64_t tileCols = ir::packedConvTile(1, s.W).cols;
  Epilogue expandEpilogue(gen, expandIndex, epilogueOps(expand), channelLayout(g.value(expand.output).shape, HW),
                          RegisterUse::Channels);
  // 16 channels in the lanes (seqk_expand_depthwise_lanes) where the
  // shapes suit it and the expansion's epilogue is data (none, or its
  // register form); the depthwise epilogue then in registers too where it
  // can be
  bool lanes = ir::expandDepthwiseLanesFits(g, node) &&
               (expandEpilogue.empty() || expandEpilogue.registerForm().has_value());
  // A producer other than a 1x1 expansion (FuseExpandDepthwise's
  // lanesProducer) runs there only, on its zero-padded input when it pads
  // (its scratch, which Liveness keeps until this node)
  const ir::Attrs &ea = expand.attrs;
  bool pointwise = ir::isPointwise(ea);
  if (!pointwise && !lanes)
    fail("convolution '" + expand.name + "' is fused into '" + node.name +
         "' but the pair cannot run with channels in the lanes");
  bool pads = !pointwise && ir::convPads(expand);
  int64_t Hx = pads ? e.H + ea.pad[0] + ea.pad[2] : e.H, Wx = pads ? e.W + ea.pad[1] + ea.pad[3] : e.W;
  Value *padded = pads ? gen.scratchPtr(expandIndex) : nullptr;
  Epilogue epilogue(gen, index, epilogueOps(node), channelLayout(g.value(node.output).shape, s.OHW()),
                    lanes ? RegisterUse::Channels : RegisterUse::None);
  Value *scratch = gen.scratchPtr(index);
  IRBuilder<> &f = gen.fwd();
  Value *slots = emitSlotCount(gen, plan.tasks());
  emitLoop(f, gen.leadingExtent(g.value(node.output).shape, 1), "image", [&](Value *image) {
    if (pads)
      genPadInput(gen, expandIndex, e, padded, image);
    Task task(gen, index, "expand_depthwise");
    IRBuilder<> &b = task.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *x = task.capture(pads ? padded : gen.valuePtr(expand.inputs[0]), "x");
    Value *we = task.capture(gen.packedPtr(expand.attrs.weight), "we");
    Value *w = task.capture(gen.packedPtr(a.weight), "w");
    Value *y = task.capture(gen.valuePtr(node.output), "y");
    Value *buf0 = task.capture(scratch, "scratch");
    Value *n = task.capture(image, "image");
    Value *tslots = task.capture(slots, "slots");
    EpilogueEnv expandEnv(task, expandEpilogue), env(task, epilogue);
    expandEnv.setRowBase(b, b.CreateMul(n, c(s.C)));
    env.setRowBase(b, b.CreateMul(n, c(s.C)));
    Value *xn = pads ? x : LlvmGen::floatGep(b, x, b.CreateMul(n, c(e.C * e.H * e.W)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.C * s.OHW())));
    emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
      Value *band = LlvmGen::floatGep(b, buf0, b.CreateMul(slot, c(slotFloats)));
      Value *plane = LlvmGen::floatGep(b, band, c(plan.bandFloats));
      emitSlotRun(b, slot, tslots, c(plan.tasks()), [&](Value *t) {
        Value *panel = b.CreateURem(t, c(plan.panels));
        Value *oh0 = b.CreateMul(b.CreateUDiv(t, c(plan.panels)), c(plan.bandRows));
        Value *oh1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(oh0, c(plan.bandRows)), c(s.OH));
        if (lanes && pointwise) {
          b.CreateCall(gen.kernel("seqk_expand_depthwise_lanes"),
                       {xn, we, w, yn, band, c(e.C), c(s.C), c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                        c(a.pad[0]), c(a.pad[1]), c(s.DH), c(s.DW), c(s.OH), c(s.OW), panel, oh0, oh1,
                        expandEnv.fused(), env.fused(), env.fn(), env.env()});
          return;
        }
        if (lanes) {
          b.CreateCall(gen.kernel("seqk_conv_depthwise_lanes"),
                       {xn, c(Hx * Wx), c(e.SH * Wx), c(e.SW), c(e.KH), c(e.KW), c(e.DH * Wx), c(e.DW), we, w, yn,
                        band, c(e.C), c(s.C), c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW), c(a.pad[0]),
                        c(a.pad[1]), c(s.DH), c(s.DW), c(s.OH), c(s.OW), panel, oh0, oh1, expandEnv.fused(),
                        env.fused(), env.fn(), env.env()});
          return;
        }
        // the input rows output rows [oh0, oh1) read, within the image
        Value *ih0 = b.CreateBinaryIntrinsic(Intrinsic::smax, b.CreateSub(b.CreateMul(oh0, c(s.SH)), c(a.pad[0])),
                                             c(0));
        Value *ih1 = b.CreateBinaryIntrinsic(
            Intrinsic::smin,
            b.CreateAdd(b.CreateMul(b.CreateSub(oh1, c(1)), c(s.SH)), c(s.KH - a.pad[0])), c(s.H));
        b.CreateCall(gen.kernel("seqk_conv2d_pointwise_rows"),
                     {xn, we, band, c(bandPlane), c(e.C), c(HW), c(e.OC), c(tileCols), panel,
                      b.CreateMul(ih0, c(s.W)), b.CreateMul(ih1, c(s.W)), expandEnv.fn(), expandEnv.env(),
                      expandEnv.fused(), ConstantPointerNull::get(b.getPtrTy()), c(0)});
        Value *c0 = b.CreateMul(panel, c(ir::kPackPanelWidth));
        Value *c1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(c0, c(ir::kPackPanelWidth)), c(s.C));
        b.CreateCall(gen.kernel("seqk_depthwise2d_phased_rows"),
                     {band, c(bandPlane), ih0, plane, w, yn, c(s.H), c(s.W), c(s.KH), c(s.KW), c(s.SH), c(s.SW),
                      c(a.pad[0]), c(a.pad[1]), c(s.DH), c(s.DW), c(s.OH), c(s.OW), c(Wq), c0, c1, oh0, oh1,
                      env.fn(), env.env()});
      });
    });
    task.run(slots, Work{0, e.OC * HW * e.Kc() + s.C * s.OHW() * s.KH * s.KW});
  });
}

} // namespace seq::codegen

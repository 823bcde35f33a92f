// NodeGenConvWinograd: a 3x3 convolution of stride 1 by Winograd's
// F(2x2, 3x3) (ir::ConvAlgorithm::Winograd, seqk_conv2d_winograd), image
// by image: its tasks of (block of tile rows, group of panels), each
// padding its block's input rows itself,
// block-major (ir::WinogradPlan), in slot tasks that each take a
// contiguous run of them and a work buffer of their own (two a thread, at
// most kConvScratchSlots). Small planes at batch 2 or more: groups of
// images a call instead (plan.imageGroup).
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGenConv.h"
#include "codegen/ShareKernelCalls.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

namespace {

// seqk_conv2d_winograd's arguments C, OC, blockRows, r0 (then r1, p0, p1)
// and images.
constexpr unsigned kWinogradC = 4, kWinogradOC = 9, kWinogradBlockRows = 12, kWinogradR0 = 15, kWinogradImages = 23;

// The batch's `images` (forward-side, at least 2) in groups of at most
// plan.imageGroup, at least as many groups as threads (as even as can be:
// group k the images [k B / G, (k + 1) B / G)), in slot tasks: one call
// each, every panel, every tile row.
void genWinogradImages(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                       const ir::WinogradPlan &plan, Value *scratch, Value *images) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  IRBuilder<> &f = gen.fwd();
  Value *threads = f.CreateSExt(f.CreateCall(gen.runtimeFn("seqrt_context_threads"), {gen.contextArg()}),
                                f.getInt64Ty());
  threads = f.CreateBinaryIntrinsic(Intrinsic::smax, threads, f.getInt64(1));
  Value *fewest = f.CreateUDiv(f.CreateAdd(images, f.getInt64(plan.imageGroup - 1)), f.getInt64(plan.imageGroup));
  Value *rounded = f.CreateMul(f.CreateUDiv(f.CreateAdd(fewest, f.CreateSub(threads, f.getInt64(1))), threads),
                               threads);
  Value *groups = f.CreateBinaryIntrinsic(Intrinsic::smin, rounded, images);
  Value *slots = f.CreateBinaryIntrinsic(Intrinsic::smin, emitSlotCount(gen, plan.tasks()), groups);
  Task task(gen, index, "winograd_images");
  IRBuilder<> &b = task.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *buf = task.capture(scratch, "scratch");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
  Value *B = task.capture(images, "images");
  Value *tgroups = task.capture(groups, "groups");
  Value *tslots = task.capture(slots, "slots");
  EpilogueEnv env(task, epilogue);
  NextWeights next(gen, index, task);
  emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
    Value *work = LlvmGen::floatGep(b, buf, b.CreateMul(slot, c(ir::convScratchSlotBytes(g, node) / 4)));
    emitSlotRun(b, slot, tslots, tgroups, [&](Value *group) {
      Value *first = b.CreateUDiv(b.CreateMul(group, B), tgroups);
      Value *last = b.CreateUDiv(b.CreateMul(b.CreateAdd(group, c(1)), B), tgroups);
      env.setRowBase(b, b.CreateMul(first, c(s.OC)));
      Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(first, c(s.C * s.H * s.W)));
      Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(first, c(s.OC * s.OHW())));
      auto xl = next.slice(b, group, tgroups, first);
      CallInst *call = b.CreateCall(
          gen.kernel("seqk_conv2d_winograd"),
          {xn, w, yn, work, c(s.C), c(s.H), c(s.W), c(node.attrs.pad[0]), c(node.attrs.pad[1]), c(s.OC), c(s.OH),
           c(s.OW), c(plan.blockRows), c(plan.pointTile), c(plan.vStride), c(0), c(plan.tileRows), c(0),
           c(plan.panels), env.fn(), env.env(), xl[0], xl[1], b.CreateSub(last, first)});
      // the tile rows and panels too: as constants they made a
      // specialisation of every such layer (GoogLeNet's build 0.96 ->
      // 1.35 s)
      markRunTimeArgs(call, {kWinogradC, kWinogradOC, kWinogradBlockRows, kWinogradR0, kWinogradR0 + 1,
                             kWinogradR0 + 2, kWinogradR0 + 3, kWinogradImages});
    });
  });
  task.run(slots, LlvmGen::workOf(g.value(node.output).shape, s.Kc()));
}

// Image by image, each image's (block, panel group) tasks in slot tasks.
void genWinogradEach(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                     const ir::WinogradPlan &plan, Value *scratch, Value *images) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  IRBuilder<> &f = gen.fwd();
  Value *slots = emitSlotCount(gen, plan.tasks());
  // the last block split in two only for several threads (on one it would
  // only transform that block's input twice)
  Value *tasks = f.getInt64(plan.tasks());
  if (plan.splitLast) {
    Value *threads = f.CreateCall(gen.runtimeFn("seqrt_context_threads"), {gen.contextArg()});
    tasks = f.CreateSelect(f.CreateICmpSGT(threads, f.getInt32(1)), tasks, f.getInt64(plan.blocks));
  }
  emitLoop(f, images, "image", [&](Value *image) {
    Task task(gen, index, "winograd");
    IRBuilder<> &b = task.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
    Value *buf = task.capture(scratch, "scratch");
    Value *y = task.capture(gen.valuePtr(node.output), "y");
    Value *w = task.capture(gen.packedPtr(node.attrs.weight), "w");
    Value *n = task.capture(image, "image");
    Value *tslots = task.capture(slots, "slots");
    Value *ttasks = task.capture(tasks, "tasks");
    EpilogueEnv env(task, epilogue);
    NextWeights next(gen, index, task);
    env.setRowBase(b, b.CreateMul(n, c(s.OC)));
    Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * s.OHW())));
    emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
      Value *work = LlvmGen::floatGep(b, buf, b.CreateMul(slot, c(ir::convScratchSlotBytes(g, node) / 4)));
      emitSlotRun(b, slot, tslots, ttasks, [&](Value *t) {
        Value *block = b.CreateUDiv(t, c(plan.panelGroups)), *group = b.CreateURem(t, c(plan.panelGroups));
        Value *groups = c(plan.panelGroups);
        if (plan.splitLast) { // blocks = 2k + 1: tasks k and 2k + 1 are the last block's halves
          int64_t k = plan.blocks / 2;
          Value *split = b.CreateICmpEQ(ttasks, c(plan.tasks()));
          Value *first = b.CreateAnd(split, b.CreateICmpEQ(t, c(k)));
          Value *second = b.CreateAnd(split, b.CreateICmpEQ(t, c(2 * k + 1)));
          Value *half = b.CreateOr(first, second);
          Value *shifted = b.CreateAnd(split, b.CreateICmpUGT(t, c(k)));
          block = b.CreateSelect(half, c(2 * k), b.CreateSelect(shifted, b.CreateSub(t, c(1)), t));
          group = b.CreateSelect(second, c(1), c(0));
          groups = b.CreateSelect(half, c(2), c(1));
        }
        Value *r0 = b.CreateUDiv(b.CreateMul(block, c(plan.tileRows)), c(plan.blocks));
        Value *r1 = b.CreateUDiv(b.CreateMul(b.CreateAdd(block, c(1)), c(plan.tileRows)), c(plan.blocks));
        Value *p0 = b.CreateUDiv(b.CreateMul(group, c(plan.panels)), groups);
        Value *p1 = b.CreateUDiv(b.CreateMul(b.CreateAdd(group, c(1)), c(plan.panels)), groups);
        auto xl = next.slice(b, t, ttasks, n);
        CallInst *call = b.CreateCall(
            gen.kernel("seqk_conv2d_winograd"),
            {xn, w, yn, work, c(s.C), c(s.H), c(s.W), c(node.attrs.pad[0]), c(node.attrs.pad[1]), c(s.OC), c(s.OH),
             c(s.OW), c(plan.blockRows), c(plan.pointTile), c(plan.vStride), r0, r1, p0, p1, env.fn(), env.env(),
             xl[0], xl[1], c(1)});
        // C, OC and blockRows only bound outer loops (the products' GEMM
        // takes them at run time anyway): layers that differ only in
        // them share one specialisation (GoogLeNet's 14 Winograd layers
        // 3; its build 2.26 -> 1.45 s of CPU), their vStride the same.
        // (The images too, which genWinogradImages' calls share.)
        markRunTimeArgs(call, {kWinogradC, kWinogradOC, kWinogradBlockRows, kWinogradImages});
      });
    });
    task.run(slots, Work{0, s.OC * s.OHW() * s.Kc()});
  });
}

} // namespace

void genConvWinograd(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  ir::WinogradPlan plan = ir::winogradPlan(g, node);
  Value *scratch = gen.scratchPtr(index);
  IRBuilder<> &f = gen.fwd();
  Value *images = gen.leadingExtent(g.value(node.output).shape, 1);
  if (plan.imageGroup > 1)
    return emitIf(f, f.CreateICmpSGT(images, f.getInt64(1)), "winograd_images",
                  [&] { genWinogradImages(gen, index, s, epilogue, plan, scratch, images); },
                  [&] { genWinogradEach(gen, index, s, epilogue, plan, scratch, images); });
  genWinogradEach(gen, index, s, epilogue, plan, scratch, images);
}

} // namespace seq::codegen

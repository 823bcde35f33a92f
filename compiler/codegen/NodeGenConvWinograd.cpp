// NodeGenConvWinograd: a 3x3 convolution of stride 1 by Winograd's
// F(2x2, 3x3) (ir::ConvAlgorithm::Winograd, seqk_conv2d_winograd), image
// by image: its tasks of (block of tile rows, group of panels), each
// padding its block's input rows itself,
// block-major (ir::WinogradPlan), in slot tasks that each take a
// contiguous run of them and a work buffer of their own (two a thread, at
// most kConvScratchSlots).
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGenConv.h"
#include "codegen/ShareKernelCalls.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

namespace {

// seqk_conv2d_winograd's arguments C, OC and blockRows.
constexpr unsigned kWinogradC = 4, kWinogradOC = 9, kWinogradBlockRows = 12;

} // namespace

void genConvWinograd(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  ir::WinogradPlan plan = ir::winogradPlan(g, node);
  Value *scratch = gen.scratchPtr(index);
  IRBuilder<> &f = gen.fwd();
  Value *slots = emitSlotCount(gen, plan.tasks());
  // the last block split in two only for several threads (on one it would
  // only transform that block's input twice)
  Value *tasks = f.getInt64(plan.tasks());
  if (plan.splitLast) {
    Value *threads = f.CreateCall(gen.runtimeFn("seqrt_context_threads"), {gen.contextArg()});
    tasks = f.CreateSelect(f.CreateICmpSGT(threads, f.getInt32(1)), tasks, f.getInt64(plan.blocks));
  }
  emitLoop(f, gen.leadingExtent(g.value(node.output).shape, 1), "image", [&](Value *image) {
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
             xl[0], xl[1]});
        // C, OC and blockRows only bound outer loops (the products' GEMM
        // takes them at run time anyway): layers that differ only in
        // them share one specialisation (GoogLeNet's 14 Winograd layers
        // 3; its build 2.26 -> 1.45 s of CPU), their vStride the same.
        markRunTimeArgs(call, {kWinogradC, kWinogradOC, kWinogradBlockRows});
      });
    });
    task.run(slots, Work{0, s.OC * s.OHW() * s.Kc()});
  });
}

} // namespace seq::codegen

// NodeGenConvWinograd: a 3x3 convolution of stride 1 by Winograd's
// F(2x2, 3x3) (ir::ConvAlgorithm::Winograd, seqk_conv2d_winograd), image
// by image: its tasks of (block of tile rows, group of panels), each
// padding its block's input rows itself,
// block-major (ir::WinogradPlan), in slot tasks that each take a
// contiguous run of them and a work buffer of their own (two a thread, at
// most kConvScratchSlots).
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGenConv.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

void genConvWinograd(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  ir::WinogradPlan plan = ir::winogradPlan(g, node);
  Value *scratch = gen.scratchPtr(index);
  IRBuilder<> &f = gen.fwd();
  Value *slots = emitSlotCount(gen, plan.tasks());
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
    EpilogueEnv env(task, epilogue);
    env.setRowBase(b, b.CreateMul(n, c(s.OC)));
    Value *xn = LlvmGen::floatGep(b, x, b.CreateMul(n, c(s.C * s.H * s.W)));
    Value *yn = LlvmGen::floatGep(b, y, b.CreateMul(n, c(s.OC * s.OHW())));
    emitLoop(b, task.begin(), task.end(), "slot", [&](Value *slot) {
      Value *work = LlvmGen::floatGep(b, buf, b.CreateMul(slot, c(plan.workFloats)));
      emitSlotRun(b, slot, tslots, plan.tasks(), [&](Value *t) {
        Value *block = b.CreateUDiv(t, c(plan.panelGroups)), *group = b.CreateURem(t, c(plan.panelGroups));
        Value *r0 = b.CreateMul(block, c(plan.blockRows));
        Value *r1 = b.CreateBinaryIntrinsic(Intrinsic::smin, b.CreateAdd(r0, c(plan.blockRows)), c(plan.tileRows));
        Value *p0 = b.CreateUDiv(b.CreateMul(group, c(plan.panels)), c(plan.panelGroups));
        Value *p1 = b.CreateUDiv(b.CreateMul(b.CreateAdd(group, c(1)), c(plan.panels)), c(plan.panelGroups));
        b.CreateCall(gen.kernel("seqk_conv2d_winograd"),
                     {xn, w, yn, work, c(s.C), c(s.H), c(s.W), c(node.attrs.pad[0]), c(node.attrs.pad[1]), c(s.OC),
                      c(s.OH), c(s.OW), c(plan.blockRows), c(plan.pointTile), r0, r1, p0, p1, env.fn(),
                      env.env()});
      });
    });
    task.run(slots, Work{0, s.OC * s.OHW() * s.Kc()});
  });
}

} // namespace seq::codegen

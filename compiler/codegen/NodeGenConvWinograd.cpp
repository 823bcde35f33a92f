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
constexpr unsigned kWinogradC = 4, kWinogradOC = 9, kWinogradBlockRows = 12, kWinogradR0 = 15, kWinogradEpi = 19,
                   kWinogradEnv = 20, kWinogradImages = 23;

// A Winograd task of node `index`: its captures of the input, scratch,
// output and weights, its epilogue and next weights, and its kernel calls.
class WinogradTask {
public:
  WinogradTask(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, const ir::WinogradPlan &plan,
               Value *scratch, StringRef suffix)
      : gen_(gen), node_(gen.graph().nodes[size_t(index)]), s_(s), plan_(plan), task_(gen, index, suffix),
        x_(task_.capture(gen.valuePtr(node_.inputs[0]), "x")), scratch_(task_.capture(scratch, "scratch")),
        y_(task_.capture(gen.valuePtr(node_.output), "y")), w_(task_.capture(gen.packedPtr(node_.attrs.weight), "w")),
        env_(task_, epilogue), next_(gen, index, task_) {}

  Task &task() { return task_; }
  IRBuilder<> &b() { return task_.b(); }
  EpilogueEnv &env() { return env_; }
  const NextWeights &next() const { return next_; }
  // Slot `slot`'s work buffer.
  Value *work(Value *slot) {
    int64_t slotFloats = ir::convScratchSlotBytes(gen_.graph(), node_) / int64_t(sizeof(float));
    return LlvmGen::floatGep(b(), scratch_, b().CreateMul(slot, b().getInt64(slotFloats)));
  }
  // The kernel on images [first, first + images), tile rows [r0, r1) and
  // panels [p0, p1), prefetching `xl`. C, OC, blockRows, the rows, the
  // panels and the images only bound outer loops (the products' GEMM takes
  // them at run time anyway): layers that differ only in them share one
  // specialisation (GoogLeNet's 14 Winograd layers 3; its build 2.26 ->
  // 1.45 s of CPU), their vStride the same. (A grouped call passes the
  // rows and panels as constants: unmarked, each such layer got a
  // specialisation of its own, GoogLeNet's build 0.96 -> 1.35 s.) So does
  // the epilogue, called once per output channel's rows: with it constant,
  // ResNet-18's 12 layers took a specialisation each (a plain one and one
  // with the residual add per plane), its build 1.9 s; now 3, 0.93 s, and
  // the model within 1% either way (alternated, one and two threads).
  void call(Value *first, Value *images, Value *r0, Value *r1, Value *p0, Value *p1, std::array<Value *, 2> xl,
            Value *work) {
    IRBuilder<> &b = task_.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    const ConvShape &s = s_;
    Value *xn = LlvmGen::floatGep(b, x_, b.CreateMul(first, c(s.C * s.H * s.W)));
    Value *yn = LlvmGen::floatGep(b, y_, b.CreateMul(first, c(s.OC * s.OHW())));
    CallInst *call = b.CreateCall(
        gen_.kernel("seqk_conv2d_winograd"),
        {xn, w_, yn, work, c(s.C), c(s.H), c(s.W), c(node_.attrs.pad[0]), c(node_.attrs.pad[1]), c(s.OC), c(s.OH),
         c(s.OW), c(plan_.blockRows), c(plan_.pointTile), c(plan_.vStride), r0, r1, p0, p1, env_.fn(), env_.env(),
         xl[0], xl[1], images});
    markRunTimeArgs(call, {kWinogradC, kWinogradOC, kWinogradBlockRows, kWinogradR0, kWinogradR0 + 1,
                           kWinogradR0 + 2, kWinogradR0 + 3, kWinogradEpi, kWinogradEnv, kWinogradImages});
  }

private:
  LlvmGen &gen_;
  const ir::Node &node_;
  const ConvShape &s_;
  const ir::WinogradPlan &plan_;
  Task task_;
  Value *x_, *scratch_, *y_, *w_;
  EpilogueEnv env_;
  NextWeights next_;
};

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
  WinogradTask wt(gen, index, s, epilogue, plan, scratch, "winograd_images");
  IRBuilder<> &b = wt.b();
  auto c = [&](int64_t v) { return b.getInt64(v); };
  Value *B = wt.task().capture(images, "images");
  Value *tgroups = wt.task().capture(groups, "groups");
  Value *tslots = wt.task().capture(slots, "slots");
  emitLoop(b, wt.task().begin(), wt.task().end(), "slot", [&](Value *slot) {
    Value *work = wt.work(slot);
    emitSlotRun(b, slot, tslots, tgroups, [&](Value *group) {
      Value *first = b.CreateUDiv(b.CreateMul(group, B), tgroups);
      Value *last = b.CreateUDiv(b.CreateMul(b.CreateAdd(group, c(1)), B), tgroups);
      wt.env().setRowBase(b, b.CreateMul(first, c(s.OC)));
      wt.call(first, b.CreateSub(last, first), c(0), c(plan.tileRows), c(0), c(plan.panels),
              wt.next().slice(b, group, tgroups, first), work);
    });
  });
  wt.task().run(slots, LlvmGen::workOf(g.value(node.output).shape, s.Kc()));
}

// Image by image, each image's (block, panel group) tasks in slot tasks.
void genWinogradEach(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                     const ir::WinogradPlan &plan, Value *scratch, Value *images) {
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
    WinogradTask wt(gen, index, s, epilogue, plan, scratch, "winograd");
    IRBuilder<> &b = wt.b();
    auto c = [&](int64_t v) { return b.getInt64(v); };
    Value *n = wt.task().capture(image, "image");
    Value *tslots = wt.task().capture(slots, "slots");
    Value *ttasks = wt.task().capture(tasks, "tasks");
    wt.env().setRowBase(b, b.CreateMul(n, c(s.OC)));
    emitLoop(b, wt.task().begin(), wt.task().end(), "slot", [&](Value *slot) {
      Value *work = wt.work(slot);
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
        wt.call(n, c(1), r0, r1, p0, p1, wt.next().slice(b, t, ttasks, n), work);
      });
    });
    wt.task().run(slots, Work{0, s.OC * s.OHW() * s.Kc()});
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

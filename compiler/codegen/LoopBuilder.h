// LoopBuilder: emits counted loops with an IRBuilder, in the shape LLVM's
// loop passes expect (a guarded preheader, one header with the induction
// phi, one latch, one exit), so that LoopVectorize recognises them.
#pragma once

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>

namespace seq::codegen {

// How LoopVectorize should treat a loop's last, partial vector.
// MaskedTail asks it to fold the tail into the vector loop with masked
// loads and stores (llvm.loop.vectorize.predicate.enable) instead of a
// scalar remainder loop: for loops that run over short runs (an
// epilogue over a 7- or 14-wide output row would otherwise run mostly in
// its scalar remainder). Targets without masked memory ops ignore it.
enum class LoopTail { Scalar, MaskedTail };

// Marks the loop whose latch is `latch` with the MaskedTail hints.
inline void hintMaskedTail(llvm::BranchInst *latch) {
  llvm::LLVMContext &ctx = latch->getContext();
  auto flag = [&](const char *name) {
    return llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, name),
                                   llvm::ConstantAsMetadata::get(llvm::ConstantInt::getTrue(ctx))});
  };
  llvm::MDNode *id = llvm::MDNode::getDistinct(
      ctx, {nullptr, flag("llvm.loop.vectorize.enable"), flag("llvm.loop.vectorize.predicate.enable")});
  id->replaceOperandWith(0, id);
  latch->setMetadata(llvm::LLVMContext::MD_loop, id);
}

// for (i = begin; i < end; ++i) body(i), with i64 bounds. The builder is
// left at the start of the code after the loop. `body` may create blocks;
// it must leave the builder in the block that falls through to the latch.
inline void emitLoop(llvm::IRBuilder<> &b, llvm::Value *begin, llvm::Value *end,
                     const llvm::Twine &name, llvm::function_ref<void(llvm::Value *)> body,
                     LoopTail tail = LoopTail::Scalar) {
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = b.getContext();
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(ctx, name + ".body", fn);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx, name + ".exit", fn);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), loop, exit);

  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, name);
  i->addIncoming(begin, pre);
  body(i);
  // Both flags hold: i < end, so i + 1 cannot wrap.
  llvm::Value *next = b.CreateAdd(i, b.getInt64(1), name + ".next", /*HasNUW=*/true, /*HasNSW=*/true);
  i->addIncoming(next, b.GetInsertBlock());
  llvm::BranchInst *latch = b.CreateCondBr(b.CreateICmpSLT(next, end), loop, exit);
  if (tail == LoopTail::MaskedTail)
    hintMaskedTail(latch);
  b.SetInsertPoint(exit);
}

// The same from 0 to a constant or value count.
inline void emitLoop(llvm::IRBuilder<> &b, llvm::Value *count, const llvm::Twine &name,
                     llvm::function_ref<void(llvm::Value *)> body, LoopTail tail = LoopTail::Scalar) {
  emitLoop(b, b.getInt64(0), count, name, body, tail);
}

// Walks the flat range [begin, end) of an index space [outer, extent) in
// segments that stay within one outer index: body(o, lo, hi) covers the
// flat indices o*extent + [lo, hi). This is how a task's chunk of, say,
// batch x channel planes becomes one kernel call per image.
inline void emitSegments(llvm::IRBuilder<> &b, llvm::Value *begin, llvm::Value *end,
                         llvm::Value *extent, const llvm::Twine &name,
                         llvm::function_ref<void(llvm::Value *, llvm::Value *, llvm::Value *)> body) {
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = b.getContext();
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(ctx, name + ".body", fn);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx, name + ".exit", fn);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), loop, exit);

  b.SetInsertPoint(loop);
  llvm::PHINode *index = b.CreatePHI(b.getInt64Ty(), 2, name);
  index->addIncoming(begin, pre);
  llvm::Value *outer = b.CreateSDiv(index, extent, name + ".outer");
  llvm::Value *lo = b.CreateSRem(index, extent, name + ".lo");
  llvm::Value *left = b.CreateSub(end, index);
  llvm::Value *hi = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, extent, b.CreateAdd(lo, left),
                                            nullptr, name + ".hi");
  body(outer, lo, hi);
  llvm::Value *next = b.CreateAdd(index, b.CreateSub(hi, lo), name + ".next");
  index->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, end), loop, exit);
  b.SetInsertPoint(exit);
}

} // namespace seq::codegen

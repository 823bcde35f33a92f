// LoopBuilder: emits counted loops with an IRBuilder, in the shape LLVM's
// loop passes expect (a guarded preheader, one header with the induction
// phi, one latch, one exit), so that LoopVectorize recognises them.
#pragma once

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>

#include <vector>

namespace seq::codegen {

// How LoopVectorize should treat a loop's iterations past its last whole
// vector. Scalar: its default (a scalar remainder loop). MaskedTail: fold
// them into the vector loop with masked loads and stores
// (llvm.loop.vectorize.predicate.enable), for a loop of fewer iterations
// than a vector, which would otherwise run entirely in its scalar
// remainder (targets without masked memory ops ignore it). OneVector: a
// loop of exactly 16 iterations becomes one vector of 16 lanes (width 16,
// no unrolling before the vectoriser sees it), with no remainder at all.
enum class LoopTail { Scalar, MaskedTail, OneVector };

// Marks the loop whose latch is `latch` with the hints of `tail`.
inline void hintLoopTail(llvm::BranchInst *latch, LoopTail tail) {
  if (tail == LoopTail::Scalar)
    return;
  llvm::LLVMContext &ctx = latch->getContext();
  auto hint = [&](const char *name, llvm::Constant *value) -> llvm::Metadata * {
    llvm::Metadata *ops[] = {llvm::MDString::get(ctx, name), llvm::ConstantAsMetadata::get(value)};
    return llvm::MDNode::get(ctx, ops);
  };
  llvm::Constant *yes = llvm::ConstantInt::getTrue(ctx);
  auto i32 = [&](int v) { return llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx), v); };
  std::vector<llvm::Metadata *> ops{nullptr, hint("llvm.loop.vectorize.enable", yes)};
  if (tail == LoopTail::MaskedTail) {
    ops.push_back(hint("llvm.loop.vectorize.predicate.enable", yes));
  } else {
    ops.push_back(hint("llvm.loop.vectorize.width", i32(16)));
    ops.push_back(hint("llvm.loop.interleave.count", i32(1)));
    ops.push_back(llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")}));
  }
  llvm::MDNode *id = llvm::MDNode::getDistinct(ctx, ops);
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
  hintLoopTail(latch, tail);
  b.SetInsertPoint(exit);
}

// if (cond) then() else otherwise(); the builder is left after both.
inline void emitIf(llvm::IRBuilder<> &b, llvm::Value *cond, const llvm::Twine &name,
                   llvm::function_ref<void()> then, llvm::function_ref<void()> otherwise) {
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = b.getContext();
  llvm::BasicBlock *thenBlock = llvm::BasicBlock::Create(ctx, name, fn);
  llvm::BasicBlock *elseBlock = llvm::BasicBlock::Create(ctx, name + ".else", fn);
  llvm::BasicBlock *done = llvm::BasicBlock::Create(ctx, name + ".done", fn);
  b.CreateCondBr(cond, thenBlock, elseBlock);
  b.SetInsertPoint(thenBlock);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(elseBlock);
  otherwise();
  b.CreateBr(done);
  b.SetInsertPoint(done);
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

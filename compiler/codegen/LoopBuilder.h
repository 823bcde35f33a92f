// LoopBuilder: emits counted loops with an IRBuilder, in the shape LLVM's
// loop passes expect (a guarded preheader, one header with the induction
// phi, one latch, one exit), so that LoopVectorize recognises them.
#pragma once

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>

namespace seq::codegen {

// for (i = begin; i < end; ++i) body(i), with i64 bounds. The builder is
// left at the start of the code after the loop. `body` may create blocks;
// it must leave the builder in the block that falls through to the latch.
inline void emitLoop(llvm::IRBuilder<> &b, llvm::Value *begin, llvm::Value *end,
                     const llvm::Twine &name, llvm::function_ref<void(llvm::Value *)> body) {
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
  b.CreateCondBr(b.CreateICmpSLT(next, end), loop, exit);
  b.SetInsertPoint(exit);
}

// The same from 0 to a constant or value count.
inline void emitLoop(llvm::IRBuilder<> &b, llvm::Value *count, const llvm::Twine &name,
                     llvm::function_ref<void(llvm::Value *)> body) {
  emitLoop(b, b.getInt64(0), count, name, body);
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

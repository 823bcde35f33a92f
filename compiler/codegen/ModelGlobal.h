// ModelGlobal: the `<prefix>_model` constant of a generated object, a
// seqrt_model laid out as the target's C compiler lays out seqrt.h's
// structs. Plain (non-packed) LLVM structs with the same member types get
// the C ABI's alignment and padding from the target's data layout, e.g.
// 4 bytes after `rank` before the int64_t dims on LP64 targets.
#pragma once

#include "seqrt.h"

#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Module.h>

namespace seq::codegen {

// seqrt_tensor_desc, seqrt_pack_step, seqrt_model
llvm::StructType *tensorDescType(llvm::LLVMContext &ctx);
llvm::StructType *packStepType(llvm::LLVMContext &ctx);
llvm::StructType *modelType(llvm::LLVMContext &ctx);

// Emits `symbol` as an external constant with the content of `model`
// (strings and arrays become private constants).
llvm::GlobalVariable *emitModelGlobal(llvm::Module &module, const seqrt_model &model, llvm::StringRef symbol);

} // namespace seq::codegen

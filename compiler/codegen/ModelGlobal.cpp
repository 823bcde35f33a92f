// ModelGlobal: seqrt_model as LLVM constants.
#include "codegen/ModelGlobal.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>

namespace seq::codegen {

using namespace llvm;

StructType *tensorDescType(LLVMContext &ctx) {
  // { const char *name; int32_t rank; int64_t dims[SEQRT_MAX_RANK]; }
  return StructType::get(ctx, {PointerType::getUnqual(ctx), Type::getInt32Ty(ctx),
                               ArrayType::get(Type::getInt64Ty(ctx), SEQRT_MAX_RANK)});
}

StructType *packStepType(LLVMContext &ctx) {
  // { int32_t op, transpose, src[6]; int64_t dst, dst2, rows, cols; float eps; }
  Type *i32 = Type::getInt32Ty(ctx), *i64 = Type::getInt64Ty(ctx);
  return StructType::get(ctx, {i32, i32, ArrayType::get(i32, 6), i64, i64, i64, i64, Type::getFloatTy(ctx)});
}

StructType *modelType(LLVMContext &ctx) {
  Type *ptr = PointerType::getUnqual(ctx), *i32 = Type::getInt32Ty(ctx), *i64 = Type::getInt64Ty(ctx);
  // abi_version, name, prefix, fingerprint, num_inputs, inputs, output,
  // num_params, params, packed_size, num_pack_steps, pack_steps,
  // workspace_fixed, workspace_per_batch, max_batch, fixed_batch
  return StructType::get(ctx, {i32, ptr, ptr, i64, i32, ptr, ptr, i32, ptr, i64, i32, ptr, i64, i64, i64, i64});
}

namespace {

class Emitter {
public:
  Emitter(Module &module, StringRef symbol) : module_(module), ctx_(module.getContext()), symbol_(symbol) {}

  Constant *string(const char *text) {
    Constant *init = ConstantDataArray::getString(ctx_, text ? text : "", /*AddNull=*/true);
    return privateConstant(init, ".str", 1);
  }

  Constant *tensor(const seqrt_tensor_desc &desc) {
    std::vector<Constant *> dims;
    for (int64_t d : desc.dims)
      dims.push_back(ConstantInt::get(Type::getInt64Ty(ctx_), d));
    return ConstantStruct::get(tensorDescType(ctx_),
                               {string(desc.name), i32(desc.rank),
                                ConstantArray::get(ArrayType::get(Type::getInt64Ty(ctx_), SEQRT_MAX_RANK), dims)});
  }

  Constant *step(const seqrt_pack_step &s) {
    std::vector<Constant *> src;
    for (int32_t v : s.src)
      src.push_back(i32(v));
    Constant *sources = ConstantArray::get(ArrayType::get(Type::getInt32Ty(ctx_), 6), src);
    return ConstantStruct::get(packStepType(ctx_),
                               {i32(s.op), i32(s.transpose), sources, i64(s.dst), i64(s.dst2), i64(s.rows),
                                i64(s.cols), ConstantFP::get(Type::getFloatTy(ctx_), s.eps)});
  }

  // A private constant array of `elements` of `type`; null when empty.
  Constant *array(StructType *type, const std::vector<Constant *> &elements, const Twine &suffix) {
    if (elements.empty())
      return ConstantPointerNull::get(PointerType::getUnqual(ctx_));
    return privateConstant(ConstantArray::get(ArrayType::get(type, elements.size()), elements), suffix, 8);
  }

  Constant *privateConstant(Constant *init, const Twine &suffix, unsigned align) {
    auto *gv = new GlobalVariable(module_, init->getType(), /*isConstant=*/true, GlobalValue::PrivateLinkage,
                                  init, symbol_ + suffix);
    gv->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    gv->setAlignment(Align(align));
    return gv;
  }

  Constant *i32(int64_t v) { return ConstantInt::get(Type::getInt32Ty(ctx_), uint64_t(v), true); }
  Constant *i64(int64_t v) { return ConstantInt::get(Type::getInt64Ty(ctx_), uint64_t(v), true); }

private:
  Module &module_;
  LLVMContext &ctx_;
  std::string symbol_;
};

} // namespace

GlobalVariable *emitModelGlobal(Module &module, const seqrt_model &model, StringRef symbol) {
  LLVMContext &ctx = module.getContext();
  Emitter e(module, symbol);
  std::vector<Constant *> inputs, params, steps;
  for (int32_t i = 0; i < model.num_inputs; ++i)
    inputs.push_back(e.tensor(model.inputs[i]));
  for (int32_t i = 0; i < model.num_params; ++i)
    params.push_back(e.tensor(model.params[i]));
  for (int32_t i = 0; i < model.num_pack_steps; ++i)
    steps.push_back(e.step(model.pack_steps[i]));
  Constant *output = e.privateConstant(e.tensor(*model.output), ".output", 8);

  Constant *init = ConstantStruct::get(
      modelType(ctx),
      {e.i32(model.abi_version), e.string(model.name), e.string(model.prefix), e.i64(int64_t(model.fingerprint)),
       e.i32(model.num_inputs), e.array(tensorDescType(ctx), inputs, ".inputs"), output,
       e.i32(model.num_params), e.array(tensorDescType(ctx), params, ".params"), e.i64(model.packed_size),
       e.i32(model.num_pack_steps), e.array(packStepType(ctx), steps, ".pack_steps"), e.i64(model.workspace_fixed),
       e.i64(model.workspace_per_batch), e.i64(model.max_batch), e.i64(model.fixed_batch)});
  auto *gv = new GlobalVariable(module, init->getType(), /*isConstant=*/true, GlobalValue::ExternalLinkage, init,
                                symbol);
  gv->setAlignment(Align(8));
  return gv;
}

} // namespace seq::codegen

// Epilogue: generates the epilogue function of a node from its EpilogueOp
// list (the layout and the env are described in Epilogue.h).
#include "codegen/Epilogue.h"

#include "codegen/LoopBuilder.h"

extern "C" {
#include "codegen/kernels/seqk.h" // seqk_fused, SEQK_ACT_*
}

namespace seq::codegen {

using namespace llvm;
using ir::EpilogueOp;
using Kind = ir::EpilogueOp::Kind;

// ---- Which ops, which channels ---------------------------------------------

ChannelRule dim1Rule(const ir::Shape &shape, int64_t rowStride) {
  if (shape.rank() < 2)
    fail("a per-channel epilogue op on " + shape.str() + ", which has no channel dim");
  ChannelRule rule;
  rule.count = shape.dims[1];
  int64_t inner = 1;
  for (size_t i = 2; i < shape.rank(); ++i)
    inner *= shape.dims[i];
  if (inner % rowStride == 0) {
    rule.mode = ChannelRule::Mode::PerRow;
    rule.div = inner / rowStride;
  } else if (inner == 1 && rowStride == rule.count) {
    rule.mode = ChannelRule::Mode::PerCol;
  } else {
    rule.mode = ChannelRule::Mode::PerElement;
    rule.inner = inner;
  }
  return rule;
}

EpilogueLayout channelLayout(const ir::Shape &shape, int64_t rowStride) {
  EpilogueLayout layout;
  layout.rowStride = rowStride;
  if (shape.rank() >= 2)
    layout.bias = layout.affine = dim1Rule(shape, rowStride);
  return layout;
}

std::vector<EpilogueOp> epilogueOps(const ir::Node &node) {
  std::vector<EpilogueOp> ops;
  const ir::Attrs &a = node.attrs;
  switch (node.kind) {
  case ir::OpKind::Unary: {
    EpilogueOp op{Kind::Unary};
    op.unary = a.unary;
    op.alpha = a.alpha;
    op.beta = a.beta;
    ops.push_back(op);
    break;
  }
  case ir::OpKind::Scalar: {
    EpilogueOp op{Kind::Scalar};
    op.scalarOp = a.binary;
    op.scalar = a.scalar;
    op.reversed = a.reversed;
    ops.push_back(op);
    break;
  }
  case ir::OpKind::BatchNorm: {
    // Only in its lowered form: scale and shift already packed.
    if (a.weight < 0 || a.bias < 0)
      fail("BatchNorm '" + node.name + "' reached code generation without scale and shift");
    EpilogueOp op{Kind::ChannelAffine};
    op.packed = a.weight;
    op.packed2 = a.bias;
    ops.push_back(op);
    break;
  }
  case ir::OpKind::Linear:
  case ir::OpKind::Conv2d: {
    // FuseElementwise seeds the bias into the epilogue; a graph that did
    // not go through it still gets its bias.
    bool seeded = !node.epilogue.empty() && node.epilogue.front().kind == Kind::Bias;
    if (a.bias >= 0 && !seeded) {
      EpilogueOp op{Kind::Bias};
      op.packed = a.bias;
      ops.push_back(op);
    }
    break;
  }
  default:
    break;
  }
  ops.insert(ops.end(), node.epilogue.begin(), node.epilogue.end());
  return ops;
}

bool needsChannel(const std::vector<EpilogueOp> &ops) {
  for (const EpilogueOp &op : ops)
    if (op.kind == Kind::Bias || op.kind == Kind::ChannelAffine)
      return true;
  return false;
}

std::optional<RegisterForm> registerForm(const std::vector<EpilogueOp> &ops, const EpilogueLayout &layout,
                                         RegisterUse use) {
  if (use == RegisterUse::None || ops.empty())
    return std::nullopt;
  RegisterForm form;
  size_t i = 0;
  if (i < ops.size() && ops[i].kind == Kind::Bias) {
    if (layout.bias.mode != ChannelRule::Mode::PerRow || layout.bias.div != 1)
      return std::nullopt;
    form.bias = ops[i++].packed;
  }
  if (i < ops.size() && ops[i].kind == Kind::AddTensor) {
    if (use != RegisterUse::ChannelsAndTensor)
      return std::nullopt;
    form.tensor = ops[i++].tensor;
  }
  if (i < ops.size() && ops[i].kind == Kind::Unary) {
    const EpilogueOp &op = ops[i++];
    switch (op.unary) {
    case ir::UnaryKind::Relu: form.act = SEQK_ACT_RELU; break;
    case ir::UnaryKind::Relu6: form.act = SEQK_ACT_HARDTANH, form.lo = 0.0f, form.hi = 6.0f; break;
    case ir::UnaryKind::Hardtanh: form.act = SEQK_ACT_HARDTANH, form.lo = op.alpha, form.hi = op.beta; break;
    case ir::UnaryKind::Silu: form.act = SEQK_ACT_SILU; break;
    case ir::UnaryKind::Hardswish: form.act = SEQK_ACT_HARDSWISH; break;
    case ir::UnaryKind::Tanh: form.act = SEQK_ACT_TANH; break;
    default: return std::nullopt;
    }
  }
  if (i != ops.size())
    return std::nullopt;
  bool clamp = form.act == SEQK_ACT_NONE || form.act == SEQK_ACT_RELU || form.act == SEQK_ACT_HARDTANH;
  if ((use == RegisterUse::ChannelsClamp && !clamp) || (use == RegisterUse::ChannelsCurve && clamp))
    return std::nullopt;
  return form;
}

Value *emitBinaryOp(IRBuilder<> &b, ir::BinaryKind op, Value *lhs, Value *rhs) {
  switch (op) {
  case ir::BinaryKind::Add: return b.CreateFAdd(lhs, rhs);
  case ir::BinaryKind::Sub: return b.CreateFSub(lhs, rhs);
  case ir::BinaryKind::Mul: return b.CreateFMul(lhs, rhs);
  case ir::BinaryKind::Div: return b.CreateFDiv(lhs, rhs);
  }
  fail("unknown binary op");
}

// ---- Code for one element ---------------------------------------------------

namespace {

// An activation is a call of its kernel (Activations.def) with its float
// arguments; the kernel is inlined and its selects and constants fold.
Value *emitUnary(LlvmGen &gen, IRBuilder<> &b, const EpilogueOp &op, Value *x) {
  std::vector<Value *> args{x};
  const float values[] = {op.alpha, op.beta};
  for (int i = 0; i < ir::unaryArity(op.unary); ++i)
    args.push_back(ConstantFP::get(gen.f32(), values[i]));
  return b.CreateCall(gen.kernel(ir::unaryKernel(op.unary)), args);
}

// A per-channel table read by a Bias or ChannelAffine.
struct TableRead {
  ChannelRule::Mode mode = ChannelRule::Mode::PerRow;
  Value *scalar = nullptr; // PerRow: table[channel], loaded once per run
  Value *base = nullptr;   // PerCol: &table[col]; PerElement: &table[0]
  Value *flat0 = nullptr;  // PerElement: the run's first flat element
  int64_t inner = 1, count = 1;

  Value *at(IRBuilder<> &b, Value *j) const {
    switch (mode) {
    case ChannelRule::Mode::PerRow:
      return scalar;
    case ChannelRule::Mode::PerCol:
      return b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, base, j));
    case ChannelRule::Mode::PerElement: {
      Value *flat = b.CreateAdd(flat0, j);
      Value *channel = b.CreateURem(b.CreateUDiv(flat, b.getInt64(inner)), b.getInt64(count));
      return b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, base, channel));
    }
    }
    return nullptr;
  }
};

} // namespace

struct Epilogue::OpState {
  TableRead table, table2; // Bias: table; ChannelAffine: scale, shift
  Value *tensor = nullptr; // AddTensor/MulTensor: &tensor[flat0]
};

// ---- The function --------------------------------------------------------

Epilogue::Epilogue(LlvmGen &gen, int node, std::vector<EpilogueOp> ops, EpilogueLayout layout,
                   RegisterUse use)
    : gen_(gen), ops_(std::move(ops)), layout_(layout), register_(codegen::registerForm(ops_, layout_, use)) {
  if (ops_.empty())
    return;
  if (register_) {
    // seqk_fused: bias, add, rowBase, rowStride, act, lo, hi
    Type *f32 = gen.f32(), *i64 = gen.i64(), *ptr = gen.ptr();
    envType_ = StructType::get(gen.context(), {ptr, ptr, i64, i64, Type::getInt32Ty(gen.context()), f32, f32});
    return;
  }
  std::vector<Type *> fields = {gen.i64()};
  for (const EpilogueOp &op : ops_) {
    if (op.kind == Kind::AddTensor || op.kind == Kind::MulTensor)
      tensors_.push_back(op.tensor);
    if (op.kind == Kind::Bias)
      channelCounts_.push_back(layout_.bias.count);
    if (op.kind == Kind::ChannelAffine)
      channelCounts_.push_back(layout_.affine.count);
    if (op.kind == Kind::Bias || op.kind == Kind::ChannelAffine)
      tables_.push_back(op.packed);
    if (op.kind == Kind::ChannelAffine)
      tables_.push_back(op.packed2);
  }
  fields.insert(fields.end(), channelCounts_.size(), gen.i64());
  fields.insert(fields.end(), tables_.size() + tensors_.size(), gen.ptr());
  envType_ = StructType::get(gen.context(), fields);

  Type *i64 = gen.i64();
  auto *type = FunctionType::get(Type::getVoidTy(gen.context()),
                                 {gen.ptr(), i64, i64, gen.ptr(), gen.ptr(), i64}, false);
  fn_ = Function::Create(type, GlobalValue::InternalLinkage, gen.nodeSymbol(node, "epi"),
                         gen.module());
  fn_->addFnAttr(Attribute::AlwaysInline);
  fn_->addFnAttr(Attribute::NoUnwind);
  // Its address means nothing: equal epilogues of equal layers merge.
  fn_->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  const char *names[] = {"env", "row", "col", "src", "dst", "n"};
  for (unsigned i = 0; i < 6; ++i)
    fn_->getArg(i)->setName(names[i]);
  emitBody();
}

Value *Epilogue::channelIndex(IRBuilder<> &b, const ChannelRule &rule, Value *R, Value *count) {
  Value *q = rule.div == 1 ? R : b.CreateUDiv(R, b.getInt64(rule.div));
  return b.CreateURem(q, count, "channel");
}

std::vector<Epilogue::OpState> Epilogue::prepareOps(IRBuilder<> &b, Value *env, Value *row,
                                                    Value *col) {
  Value *rowBase = b.CreateLoad(gen_.i64(), b.CreateStructGEP(envType_, env, 0), "row_base");
  Value *R = b.CreateAdd(rowBase, row, "R");
  // Only where an op reads it: an unused R * rowStride would keep the
  // epilogues of layers that differ only in rowStride apart until the
  // optimiser deleted it, after MergeFunctions had looked.
  Value *flat0Value = nullptr;
  auto flat0 = [&] {
    if (!flat0Value)
      flat0Value = b.CreateAdd(b.CreateMul(R, b.getInt64(layout_.rowStride)), col, "flat0");
    return flat0Value;
  };

  // The tables' addresses come from the env (not as constant offsets in
  // the weights), so that layers of equal shapes have equal epilogues.
  unsigned countField = 1, tableField = 1 + unsigned(channelCounts_.size());
  Value *channel = nullptr; // PerRow: the current op's channel
  auto table = [&](const ChannelRule &rule) {
    TableRead read;
    read.mode = rule.mode;
    read.inner = rule.inner;
    read.count = rule.count;
    Value *base = b.CreateLoad(gen_.ptr(), b.CreateStructGEP(envType_, env, tableField++), "table");
    switch (rule.mode) {
    case ChannelRule::Mode::PerRow:
      read.scalar = b.CreateLoad(gen_.f32(), LlvmGen::floatGep(b, base, channel));
      break;
    case ChannelRule::Mode::PerCol:
      read.base = LlvmGen::floatGep(b, base, col);
      break;
    case ChannelRule::Mode::PerElement:
      read.base = base;
      read.flat0 = flat0();
      break;
    }
    return read;
  };

  std::vector<OpState> states(ops_.size());
  unsigned tensorField = 1 + unsigned(channelCounts_.size() + tables_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    const EpilogueOp &op = ops_[i];
    if (op.kind == Kind::Bias || op.kind == Kind::ChannelAffine) {
      const ChannelRule &rule = op.kind == Kind::Bias ? layout_.bias : layout_.affine;
      Value *count = b.CreateLoad(gen_.i64(), b.CreateStructGEP(envType_, env, countField++), "channels");
      channel = rule.mode == ChannelRule::Mode::PerRow ? channelIndex(b, rule, R, count) : nullptr;
    }
    switch (op.kind) {
    case Kind::Bias:
      states[i].table = table(layout_.bias);
      break;
    case Kind::ChannelAffine:
      states[i].table = table(layout_.affine);
      states[i].table2 = table(layout_.affine);
      break;
    case Kind::AddTensor:
    case Kind::MulTensor: {
      Value *base = b.CreateLoad(gen_.ptr(), b.CreateStructGEP(envType_, env, tensorField++));
      states[i].tensor = LlvmGen::floatGep(b, base, flat0(), "tensor");
      break;
    }
    default:
      break;
    }
  }
  return states;
}

Value *Epilogue::applyOps(IRBuilder<> &b, Value *x, Value *j, const std::vector<OpState> &states) {
  for (size_t i = 0; i < ops_.size(); ++i) {
    const EpilogueOp &op = ops_[i];
    const OpState &s = states[i];
    switch (op.kind) {
    case Kind::Bias:
      x = b.CreateFAdd(x, s.table.at(b, j));
      break;
    case Kind::ChannelAffine:
      x = b.CreateFAdd(b.CreateFMul(x, s.table.at(b, j)), s.table2.at(b, j));
      break;
    case Kind::Unary:
      x = emitUnary(gen_, b, op, x);
      break;
    case Kind::AddTensor:
    case Kind::MulTensor: {
      Value *t = b.CreateLoad(gen_.f32(), LlvmGen::floatGep(b, s.tensor, j));
      x = op.kind == Kind::AddTensor ? b.CreateFAdd(x, t) : b.CreateFMul(x, t);
      break;
    }
    case Kind::Scalar: {
      Value *c = ConstantFP::get(gen_.f32(), op.scalar);
      x = op.reversed ? emitBinaryOp(b, op.scalarOp, c, x) : emitBinaryOp(b, op.scalarOp, x, c);
      break;
    }
    }
  }
  return x;
}

// Two copies of the loop: kernels mostly call epilogues in place (src ==
// dst), and a loop reading src and writing dst whose pointers might
// overlap would only vectorise behind a run-time check that fails exactly
// when they are equal. Runs are often short (a 7-wide output row): the
// whole vectors run unmasked (masked stores are slow on some cores), the
// last partial one masked, never a scalar loop.
void Epilogue::emitBody() {
  LLVMContext &ctx = gen_.context();
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", fn_));
  Value *env = fn_->getArg(0), *row = fn_->getArg(1), *col = fn_->getArg(2);
  Value *src = fn_->getArg(3), *dst = fn_->getArg(4), *n = fn_->getArg(5);
  std::vector<OpState> states = prepareOps(b, env, row, col);

  BasicBlock *inPlace = BasicBlock::Create(ctx, "in_place", fn_);
  BasicBlock *copy = BasicBlock::Create(ctx, "copy", fn_);
  BasicBlock *done = BasicBlock::Create(ctx, "done", fn_);
  b.CreateCondBr(b.CreateICmpEQ(src, dst), inPlace, copy);
  for (auto [block, from] : {std::pair{inPlace, dst}, std::pair{copy, src}}) {
    b.SetInsertPoint(block);
    auto body = [&](Value *j) {
      Value *x = b.CreateLoad(gen_.f32(), LlvmGen::floatGep(b, from, j), "x");
      b.CreateStore(applyOps(b, x, j, states), LlvmGen::floatGep(b, dst, j));
    };
    // vectors of 16, then the rest (< 16) masked
    emitLoop(b, b.CreateLShr(n, 4), "v", [&](Value *v) {
      Value *base = b.CreateShl(v, 4);
      emitLoop(
          b, b.getInt64(16), "lane", [&](Value *lane) { body(b.CreateAdd(base, lane)); }, LoopTail::OneVector);
    });
    emitLoop(b, b.CreateAnd(n, b.getInt64(~int64_t{15})), n, "tail", body, LoopTail::MaskedTail);
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
  b.CreateRetVoid();
}

// ---- The env inside a task ----------------------------------------------

EpilogueEnv::EpilogueEnv(Task &task, const Epilogue &epilogue)
    : epilogue_(epilogue), ctx_(task.gen().context()) {
  if (epilogue.empty())
    return;
  LlvmGen &gen = task.gen();
  StructType *type = epilogue.envType();
  env_ = task.entryAlloca(type, "env");
  // Filled once at the task's entry, after the captured values are loaded.
  IRBuilder<> b(task.entryEnd());
  if (const std::optional<RegisterForm> &form = epilogue.registerForm()) {
    Value *null = ConstantPointerNull::get(PointerType::getUnqual(ctx_));
    Value *bias = form->bias >= 0 ? task.capture(gen.packedPtr(form->bias), "bias") : null;
    if (form->bias >= 0)
      bias_ = bias;
    Value *add = form->tensor >= 0 ? task.capture(gen.valuePtr(form->tensor), "tensor") : null;
    Value *fields[] = {bias, add, b.getInt64(0), b.getInt64(epilogue.layout().rowStride), b.getInt32(form->act),
                       ConstantFP::get(gen.f32(), form->lo), ConstantFP::get(gen.f32(), form->hi)};
    for (unsigned i = 0; i < 7; ++i)
      b.CreateStore(fields[i], b.CreateStructGEP(type, env_, i));
    return;
  }
  b.CreateStore(b.getInt64(0), b.CreateStructGEP(type, env_, 0));
  unsigned field = 1;
  for (int64_t count : epilogue.channelCounts())
    b.CreateStore(b.getInt64(count), b.CreateStructGEP(type, env_, field++));
  for (int packed : epilogue.tables()) {
    Value *pointer = task.capture(gen.packedPtr(packed), "table");
    b.CreateStore(pointer, b.CreateStructGEP(type, env_, field++));
  }
  for (int tensor : epilogue.tensors()) {
    Value *pointer = task.capture(gen.valuePtr(tensor), "tensor");
    b.CreateStore(pointer, b.CreateStructGEP(type, env_, field++));
  }
}

Value *forwardEpilogueEnv(LlvmGen &gen, const Epilogue &epilogue) {
  if (epilogue.empty() || epilogue.registerForm())
    fail("a forward-side env of an empty epilogue, or one in register form");
  IRBuilder<> &f = gen.fwd();
  Function *fn = f.GetInsertBlock()->getParent();
  IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  StructType *type = epilogue.envType();
  Value *env = entry.CreateAlloca(type, nullptr, "env");
  f.CreateStore(f.getInt64(0), f.CreateStructGEP(type, env, 0));
  unsigned field = 1;
  for (int64_t count : epilogue.channelCounts())
    f.CreateStore(f.getInt64(count), f.CreateStructGEP(type, env, field++));
  for (int packed : epilogue.tables())
    f.CreateStore(gen.packedPtr(packed), f.CreateStructGEP(type, env, field++));
  for (int tensor : epilogue.tensors())
    f.CreateStore(gen.valuePtr(tensor), f.CreateStructGEP(type, env, field++));
  return env;
}

void EpilogueEnv::setRowBase(IRBuilder<> &b, Value *rowBase) {
  if (env_)
    b.CreateStore(rowBase, b.CreateStructGEP(epilogue_.envType(), env_, epilogue_.registerForm() ? 2 : 0));
}

void EpilogueEnv::setChannelBase(IRBuilder<> &b, Value *channel) {
  if (env_ && bias_)
    b.CreateStore(LlvmGen::floatGep(b, bias_, channel), b.CreateStructGEP(epilogue_.envType(), env_, 0));
}

Value *EpilogueEnv::fn() const {
  if (epilogue_.empty() || epilogue_.registerForm())
    return ConstantPointerNull::get(PointerType::getUnqual(ctx_));
  return epilogue_.function();
}

Value *EpilogueEnv::env() const {
  if (!env_ || epilogue_.registerForm())
    return ConstantPointerNull::get(PointerType::getUnqual(ctx_));
  return env_;
}

Value *EpilogueEnv::fused() const {
  if (!env_ || !epilogue_.registerForm())
    return ConstantPointerNull::get(PointerType::getUnqual(ctx_));
  return env_;
}

void applyEpilogueToRows(Task &task, const Epilogue &epilogue, Value *y, int64_t D, Value *r0,
                         Value *r1) {
  if (epilogue.empty())
    return;
  if (epilogue.registerForm())
    fail("an epilogue in register form applied to rows");
  EpilogueEnv env(task, epilogue);
  IRBuilder<> &b = task.b();
  b.CreateCall(task.gen().kernel("seqk_map"), {y, y, b.getInt64(D), r0, r1, env.fn(), env.env()});
}

Epilogue rowEpilogue(LlvmGen &gen, int index, int64_t rowLength) {
  const ir::Node &node = gen.graph().nodes[size_t(index)];
  std::vector<ir::EpilogueOp> ops = epilogueOps(node);
  EpilogueLayout layout;
  layout.rowStride = rowLength;
  if (needsChannel(ops))
    layout = channelLayout(gen.graph().value(node.output).shape, rowLength);
  return Epilogue(gen, index, std::move(ops), layout);
}

} // namespace seq::codegen

// NodeGenElementwise: Map (and the element-wise kinds codegen treats as
// one: Unary, Scalar, a lowered BatchNorm), Binary with broadcasting,
// Concat, and Copy/Reshape/Identity.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"

#include <algorithm>

namespace seq::codegen {

using namespace llvm;

namespace {

// Longest row of a Map without per-channel ops: rows are the unit of
// parallel work, so a batch-1 tensor still splits over the threads.
constexpr int64_t kMapMaxRow = 16384;
constexpr int64_t kMapMinRow = 1024;

// A row length that divides `elements`: all of it when short, else the
// largest divisor in [kMapMinRow, kMapMaxRow] (all of it when none is).
int64_t mapRowLength(int64_t elements) {
  if (elements <= kMapMaxRow)
    return elements;
  for (int64_t d = kMapMaxRow; d >= kMapMinRow; --d)
    if (elements % d == 0)
      return d;
  return elements;
}

// The row length of a Map's [rows, D] view. With per-channel ops a row
// must lie in one channel (D = H*W of an NCHW tensor), or be exactly the
// channels (a [B, C] tensor), so that the channel is known per row or per
// column (Epilogue.h).
int64_t mapRowLength(const ir::Shape &shape, bool perChannel) {
  if (!perChannel)
    return mapRowLength(shape.elementsPerBatch());
  if (shape.rank() < 3)
    return shape.dims.at(1);
  int64_t inner = 1;
  for (size_t i = 2; i < shape.rank(); ++i)
    inner *= shape.dims[i];
  return inner == 1 ? shape.dims[1] : inner;
}

// Rows of `rowLength` elements in `shape` (rowLength divides a batch item).
Value *rowsOf(LlvmGen &gen, const ir::Shape &shape, int64_t rowLength) {
  int64_t perItem = shape.elementsPerBatch() / rowLength;
  IRBuilder<> &f = gen.fwd();
  return shape.batched() ? f.CreateMul(gen.batch(), f.getInt64(perItem)) : f.getInt64(perItem);
}

bool sameStorage(const ir::Graph &g, int a, int b) {
  return g.storageOf(a).id == g.storageOf(b).id && g.storageOffset(a) == g.storageOffset(b);
}

} // namespace

// ---- Map ---------------------------------------------------------------------------

namespace {

// The channel count of a map whose rows are its channels (genMap): a
// power of two above any channel index, so that R % count is R (a mask
// that fits an instruction's 32-bit immediate).
constexpr int64_t kAnyChannels = int64_t(1) << 30;

} // namespace

// y = epilogue(x) on rows of a [rows, D] view, through seqk_map: row r is
// elements [r*D, (r+1)*D) of both.
void genMap(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &shape = g.value(node.output).shape;
  if (g.value(node.inputs.at(0)).shape.elementsPerBatch() != shape.elementsPerBatch())
    fail("map '" + node.name + "' changes the number of elements");
  std::vector<ir::EpilogueOp> ops = epilogueOps(node);
  if (ops.empty())
    return genCopy(gen, index);
  bool perChannel = needsChannel(ops);
  int64_t D = mapRowLength(shape, perChannel);
  EpilogueLayout layout = perChannel ? channelLayout(shape, D) : EpilogueLayout{D, {}, {}};
  // Rows that are each one channel's plane, and no tensor operand (whose
  // address follows the row): each image's rows are run with the row base
  // that makes a row's index its channel, so the channel count the
  // epilogue reduces by can be kAnyChannels for every such map. Their
  // tasks then differ only in D and the ops, and merge (DenseNet-121's 58
  // BatchNorm + ReLU maps were 58 functions, a quarter of its compile
  // time); the count itself is a run-time value of the task, used once per
  // image, and the reduction a mask instead of a division by a constant.
  int64_t channels = layout.affine.count;
  bool channelRows = perChannel && shape.rank() >= 3 && layout.affine.mode == ChannelRule::Mode::PerRow &&
                     layout.affine.div == 1 &&
                     std::none_of(ops.begin(), ops.end(), [](const ir::EpilogueOp &op) {
                       return op.kind == ir::EpilogueOp::Kind::AddTensor || op.kind == ir::EpilogueOp::Kind::MulTensor;
                     });
  if (channelRows)
    layout.bias.count = layout.affine.count = kAnyChannels;
  Epilogue epilogue(gen, index, std::move(ops), layout);

  Task task(gen, index, "map");
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  EpilogueEnv env(task, epilogue);
  IRBuilder<> &b = task.b();
  auto map = [&](Value *r0, Value *r1) {
    b.CreateCall(gen.kernel("seqk_map"), {x, y, b.getInt64(D), r0, r1, env.fn(), env.env()});
  };
  if (!channelRows) {
    map(task.begin(), task.end());
  } else {
    Value *C = task.capture(gen.fwd().getInt64(channels), "channels");
    Value *first = b.CreateUDiv(task.begin(), C);
    Value *last = b.CreateUDiv(b.CreateAdd(task.end(), b.CreateSub(C, b.getInt64(1))), C);
    emitLoop(b, first, last, "image", [&](Value *n) {
      Value *base = b.CreateMul(n, C);
      env.setRowBase(b, b.CreateNeg(base));
      map(b.CreateBinaryIntrinsic(Intrinsic::smax, task.begin(), base),
          b.CreateBinaryIntrinsic(Intrinsic::smin, task.end(), b.CreateAdd(base, C)));
    });
  }
  task.run(rowsOf(gen, shape, D), LlvmGen::workOf(shape, 4));
}

// ---- Binary --------------------------------------------------------------------------
//
// out = a op b with PyTorch broadcasting. Each operand gets a stride per
// output dim (0 where it broadcasts); dims of size 1 drop out, and
// neighbouring dims merge where both operands walk them contiguously (or
// both broadcast), so [B,C,H,W] * [B,C,1,1] runs as [B, C, H*W] with the
// second operand's inner stride 0. The innermost dim becomes a loop over
// contiguous outputs; the others index rows, which the tasks split.
namespace {

struct BroadcastDim {
  int64_t size = 1;     // kBatch for the run-time batch
  int64_t stride[2] = {0, 0};
};

std::vector<BroadcastDim> broadcastDims(const ir::Node &node, const std::vector<const ir::Shape *> &ops,
                                        const ir::Shape &out) {
  size_t rank = out.rank();
  std::vector<BroadcastDim> dims(rank);
  for (size_t k = 0; k < rank; ++k)
    dims[k].size = out.dims[k];
  for (size_t o = 0; o < 2; ++o) {
    const std::vector<int64_t> &x = ops[o]->dims;
    if (x.size() > rank)
      fail("binary '" + node.name + "' operand " + ops[o]->str() + " has a higher rank than " + out.str());
    int64_t stride = 1;
    for (size_t i = x.size(); i-- > 0;) {
      size_t k = i + rank - x.size();
      bool broadcast = x[i] == 1 && out.dims[k] != 1;
      if (!broadcast && x[i] != out.dims[k])
        fail("binary '" + node.name + "' cannot broadcast " + ops[o]->str() + " to " + out.str());
      dims[k].stride[o] = broadcast ? 0 : stride;
      if (x[i] != ir::kBatch)
        stride *= x[i];
    }
  }
  return dims;
}

// Drops dims of size 1 and merges contiguous neighbours (never the batch).
std::vector<BroadcastDim> coalesce(std::vector<BroadcastDim> dims) {
  std::vector<BroadcastDim> result;
  for (const BroadcastDim &d : dims)
    if (d.size != 1)
      result.push_back(d);
  if (result.empty())
    return {BroadcastDim{1, {1, 1}}};
  std::vector<BroadcastDim> merged = {result.back()};
  for (size_t k = result.size() - 1; k-- > 0;) {
    const BroadcastDim &outer = result[k];
    BroadcastDim &inner = merged.front();
    bool contiguous = outer.size != ir::kBatch && outer.stride[0] == inner.stride[0] * inner.size &&
                      outer.stride[1] == inner.stride[1] * inner.size;
    if (contiguous)
      inner.size *= outer.size;
    else
      merged.insert(merged.begin(), outer);
  }
  return merged;
}

} // namespace

void genBinary(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  if (node.fusedInto >= 0)
    return; // a channel scale, computed by the convolution it is fused into
  const ir::Shape &out = g.value(node.output).shape;
  std::vector<BroadcastDim> dims = coalesce(broadcastDims(
      node, {&g.value(node.inputs.at(0)).shape, &g.value(node.inputs.at(1)).shape}, out));
  // A rank-1 batched tensor: rows of one element.
  if (dims.back().size == ir::kBatch)
    dims.push_back(BroadcastDim{1, {0, 0}});
  BroadcastDim inner = dims.back();
  dims.pop_back();
  int64_t L = inner.size;

  IRBuilder<> &f = gen.fwd();
  Value *rows = f.getInt64(1);
  for (const BroadcastDim &d : dims)
    rows = f.CreateMul(rows, d.size == ir::kBatch ? gen.batch() : f.getInt64(d.size));
  std::vector<ir::EpilogueOp> ops = epilogueOps(node);
  EpilogueLayout layout = needsChannel(ops) ? channelLayout(out, L) : EpilogueLayout{L, {}, {}};
  Epilogue epilogue(gen, index, std::move(ops), layout);

  Task task(gen, index, "binary");
  IRBuilder<> &b = task.b();
  Value *a = task.capture(gen.valuePtr(node.inputs[0]), "a");
  Value *c = task.capture(gen.valuePtr(node.inputs[1]), "b");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  emitLoop(b, task.begin(), task.end(), "row", [&](Value *row) {
    // Row index -> per-dim index, innermost first; the outermost dim
    // (possibly the batch) takes what is left.
    Value *rest = row, *offset[2] = {b.getInt64(0), b.getInt64(0)};
    for (size_t k = dims.size(); k-- > 0;) {
      Value *i = k == 0 ? rest : b.CreateURem(rest, b.getInt64(dims[k].size));
      if (k > 0)
        rest = b.CreateUDiv(rest, b.getInt64(dims[k].size));
      for (int o = 0; o < 2; ++o)
        offset[o] = b.CreateAdd(offset[o], b.CreateMul(i, b.getInt64(dims[k].stride[o])));
    }
    Value *ar = LlvmGen::floatGep(b, a, offset[0]), *br = LlvmGen::floatGep(b, c, offset[1]);
    Value *yr = LlvmGen::floatGep(b, y, b.CreateMul(row, b.getInt64(L)));
    emitLoop(b, b.getInt64(L), "j", [&](Value *j) {
      Value *lhs = b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, ar, b.CreateMul(j, b.getInt64(inner.stride[0]))));
      Value *rhs = b.CreateLoad(b.getFloatTy(), LlvmGen::floatGep(b, br, b.CreateMul(j, b.getInt64(inner.stride[1]))));
      b.CreateStore(emitBinaryOp(b, node.attrs.binary, lhs, rhs), LlvmGen::floatGep(b, yr, j));
    });
  });
  applyEpilogueToRows(task, epilogue, y, L, task.begin(), task.end());
  // Two loads and a store an output: a copy's cost (kCopyStepsPerFloat),
  // not one step. Counted as one, a Squeeze-and-Excitation scale of
  // 1152 x 7 x 7 stayed on one thread, and on two it took twice as long
  // as on one (3.8 -> 7.6 us): the projection after it reads it on both
  // cores, so each store first took its line back from the other core.
  // Split, each core takes back half (4.6 us); EfficientNet-B0 at batch 1
  // on two threads, its scales 134 -> 69 us.
  task.run(rows, LlvmGen::workOf(out, kCopyStepsPerFloat));
}

// ---- Concat ------------------------------------------------------------------------

namespace {

// Rows at least this long are copied by a call to memcpy whether their
// length is a constant or not (LLVM expands constant ones only up to a
// few hundred bytes).
constexpr int64_t kConcatLongRowBytes = 4096;
// A long output row is copied in pieces of about this many bytes (at
// most kConcatPieces), a task each: at batch 1 a concat has one output
// row, which one task copied while the other threads waited
// (SqueezeNet's first concats, 1.5 MB, took 115 us on 1 and on 2
// threads).
constexpr int64_t kConcatPieceBytes = 32 * 1024;
constexpr int64_t kConcatPieces = 8;

// Columns [from, to) of an output row (channel planes of `plane` floats)
// from src: epi(env, c, k, ...) on each channel c's part of them, k its
// first column in the plane.
void concatThroughEpilogue(IRBuilder<> &b, Value *epi, Value *env, Value *plane, Value *src, Value *dstRow,
                           Value *from, Value *to) {
  Type *i64 = b.getInt64Ty(), *ptr = b.getPtrTy();
  auto *type = FunctionType::get(b.getVoidTy(), {ptr, i64, i64, ptr, ptr, i64}, false);
  emitSegments(b, from, to, plane, "plane", [&](Value *channel, Value *k, Value *end) {
    Value *at = b.CreateAdd(b.CreateMul(channel, plane), k);
    b.CreateCall(type, epi,
                 {env, channel, k, LlvmGen::floatGep(b, src, b.CreateSub(at, from)), LlvmGen::floatGep(b, dstRow, at),
                  b.CreateSub(end, k)});
  });
}

// A concat whose inputs' rows are all long: the same task for every such
// concat, whatever its inputs and epilogue, which reads their pointers
// and row lengths from its closure (y, the number of inputs, the output
// row, its pieces, the epilogue's function and env or nulls, the floats
// of a channel's plane, then a pointer and a row length per input), so
// that the tasks merge into one (DenseNet-121's 58 concats, each of up to
// 24 inputs, were 58 functions and 15% of its compile time). Task t
// copies piece t % pieces of output row t / pieces, columns [c0, c1) cut
// at multiples of 16 floats (no two tasks write one cache line): the
// part of each input's row that lands there, one memcpy each, or through
// the epilogue, a call for each channel's plane of it (numbered by its
// channel: row c, column the element's in the plane). The epilogue is
// that of a map after the concat (DenseNet's BatchNorm and ReLU), which
// then reads every element once, from the inputs: one pass instead of a
// copy and a map over it.
void genConcatLongRows(Task &task, Value *y, const std::vector<std::pair<Value *, int64_t>> &inputs, int64_t rowOut,
                       Value *outer, Work work, std::array<Value *, 2> epilogue, int64_t plane) {
  IRBuilder<> &b = task.b();
  IRBuilder<> &f = task.gen().fwd();
  const int64_t pieces = std::clamp<int64_t>(rowOut * int64_t(sizeof(float)) / kConcatPieceBytes, 1, kConcatPieces);
  Value *count = task.capture(f.getInt64(int64_t(inputs.size())), "inputs");
  Value *row = task.capture(f.getInt64(rowOut), "row");
  Value *tpieces = task.capture(f.getInt64(pieces), "pieces");
  Value *epi = task.capture(epilogue[0], "epi"), *env = task.capture(epilogue[1], "env");
  Value *tplane = task.capture(f.getInt64(plane), "plane");
  constexpr int64_t kFirstInput = 7; // the closure slot of the first input's pointer
  for (auto [x, rowIn] : inputs) // stored for the loop below, not loaded at the entry
    for (Value *value : {x, static_cast<Value *>(f.getInt64(rowIn))}) {
      auto *load = cast<LoadInst>(task.capture(value));
      auto *address = cast<Instruction>(load->getPointerOperand());
      load->eraseFromParent();
      address->eraseFromParent();
    }
  Value *closure = task.function()->getArg(0);
  Value *column = task.entryAlloca(b.getInt64Ty(), "column");
  auto smin = [&](Value *a, Value *c) { return b.CreateBinaryIntrinsic(Intrinsic::smin, a, c); };
  auto smax = [&](Value *a, Value *c) { return b.CreateBinaryIntrinsic(Intrinsic::smax, a, c); };
  // piece k's first column: k * row / pieces, down to a multiple of 16
  auto pieceStart = [&](Value *k) {
    Value *even = b.CreateUDiv(b.CreateMul(k, row), tpieces);
    return b.CreateSelect(b.CreateICmpEQ(k, tpieces), row, b.CreateAnd(even, b.getInt64(~int64_t{15})));
  };
  emitLoop(b, task.begin(), task.end(), "piece", [&](Value *t) {
    Value *o = b.CreateUDiv(t, tpieces), *piece = b.CreateURem(t, tpieces);
    Value *c0 = pieceStart(piece), *c1 = pieceStart(b.CreateAdd(piece, b.getInt64(1)));
    Value *dstRow = LlvmGen::floatGep(b, y, b.CreateMul(o, row));
    b.CreateStore(b.getInt64(0), column);
    emitLoop(b, count, "input", [&](Value *k) {
      Value *slot = b.CreateAdd(b.getInt64(kFirstInput), b.CreateMul(k, b.getInt64(2)));
      Value *x = b.CreateLoad(b.getPtrTy(), b.CreateInBoundsGEP(b.getInt64Ty(), closure, slot), "x");
      Value *length = b.CreateLoad(b.getInt64Ty(),
                                   b.CreateInBoundsGEP(b.getInt64Ty(), closure, b.CreateAdd(slot, b.getInt64(1))),
                                   "length");
      Value *at = b.CreateLoad(b.getInt64Ty(), column);
      // this input's columns [at, end) within [c0, c1): [from, to), both
      // kept in [at, end) so that the pointers stay within the buffers
      Value *end = b.CreateAdd(at, length);
      Value *from = smin(smax(at, c0), end), *to = smax(smin(end, c1), from);
      Value *n = b.CreateSub(to, from);
      Value *src = LlvmGen::floatGep(b, x, b.CreateAdd(b.CreateMul(o, length), b.CreateSub(from, at)));
      emitIf(b, b.CreateIsNull(epi), "copy",
             [&] {
               b.CreateMemCpy(LlvmGen::floatGep(b, dstRow, from), MaybeAlign(4), src, MaybeAlign(4),
                              b.CreateMul(n, b.getInt64(sizeof(float))));
             },
             [&] { concatThroughEpilogue(b, epi, env, tplane, src, dstRow, from, to); });
      b.CreateStore(b.CreateAdd(at, length), column);
    });
  });
  task.run(f.CreateMul(outer, f.getInt64(pieces)), work);
}

} // namespace

// Viewed as [outer, dim * inner], each input's row is a contiguous run of
// the output row: one memcpy per input per outer row.
void genConcat(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  if (ir::concatInPlace(g, node))
    return; // its producers wrote every input in place (PlanMemory)
  const ir::Shape &out = g.value(node.output).shape;
  size_t dim = size_t(node.attrs.dim);
  if (dim >= out.rank() || out.dims[dim] == ir::kBatch)
    fail("concat '" + node.name + "' along dim " + std::to_string(dim) + " of " + out.str());
  int64_t inner = 1;
  for (size_t i = dim + 1; i < out.rank(); ++i)
    inner *= out.dims[i];
  int64_t rowOut = out.dims[dim] * inner;
  std::vector<ir::EpilogueOp> ops = epilogueOps(node);
  bool longRows = true;
  for (int in : node.inputs) {
    const ir::Shape &shape = g.value(in).shape;
    if (shape.rank() != out.rank())
      fail("concat '" + node.name + "' of " + shape.str() + " into " + out.str());
    longRows = longRows && shape.dims[dim] * inner * int64_t(sizeof(float)) >= kConcatLongRowBytes;
  }
  // long rows through an epilogue: one call per channel's plane, whose
  // index is its channel (as genMap's rows), channel planes only
  bool planes = dim == 1 && out.rank() >= 3 &&
                std::none_of(ops.begin(), ops.end(), [](const ir::EpilogueOp &op) { return op.tensor >= 0; });
  longRows = longRows && (ops.empty() || planes);
  Epilogue epilogue = [&] {
    if (longRows && !ops.empty()) {
      EpilogueLayout layout = channelLayout(out, inner);
      layout.bias.count = layout.affine.count = kAnyChannels;
      return Epilogue(gen, index, std::move(ops), layout);
    }
    EpilogueLayout layout = needsChannel(ops) ? channelLayout(out, rowOut) : EpilogueLayout{rowOut, {}, {}};
    return Epilogue(gen, index, std::move(ops), layout);
  }();

  Task task(gen, index, "concat");
  IRBuilder<> &b = task.b();
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  std::vector<std::pair<Value *, int64_t>> inputs; // task pointer, row length
  for (int in : node.inputs)
    inputs.emplace_back(gen.valuePtr(in), g.value(in).shape.dims[dim] * inner);
  if (longRows) {
    Value *null = ConstantPointerNull::get(gen.fwd().getPtrTy());
    std::array<Value *, 2> through = {null, null};
    if (!epilogue.empty())
      through = {epilogue.function(), forwardEpilogueEnv(gen, epilogue)};
    return genConcatLongRows(task, y, inputs, rowOut, gen.leadingExtent(out, dim), LlvmGen::workOf(out, 1),
                             through, inner);
  }
  for (auto &input : inputs)
    input.first = task.capture(input.first, "x");
  emitLoop(b, task.begin(), task.end(), "outer", [&](Value *o) {
    int64_t column = 0;
    for (auto [x, rowIn] : inputs) {
      Value *src = LlvmGen::floatGep(b, x, b.CreateMul(o, b.getInt64(rowIn)));
      Value *dst = LlvmGen::floatGep(b, y, b.CreateAdd(b.CreateMul(o, b.getInt64(rowOut)), b.getInt64(column)));
      b.CreateMemCpy(dst, MaybeAlign(4), src, MaybeAlign(4), rowIn * 4);
      column += rowIn;
    }
  });
  applyEpilogueToRows(task, epilogue, y, rowOut, task.begin(), task.end());
  task.run(gen.leadingExtent(out, dim), LlvmGen::workOf(out, 1));
}

// ---- Copy, Reshape, Identity ------------------------------------------------------

// A Reshape normally aliases its input (no code); where the planner gave
// the output storage of its own, and for Copy, the elements are copied.
void genCopy(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  if (!node.epilogue.empty())
    return genMap(gen, index);
  int in = node.inputs.at(0);
  if (sameStorage(g, in, node.output))
    return;
  const ir::Shape &shape = g.value(node.output).shape;
  if (g.value(in).shape.elementsPerBatch() != shape.elementsPerBatch())
    fail("copy '" + node.name + "' changes the number of elements");
  IRBuilder<> &f = gen.fwd();
  int64_t bytesPerItem = shape.elementsPerBatch() * int64_t(sizeof(float));
  Value *bytes = shape.batched() ? f.CreateMul(gen.batch(), f.getInt64(bytesPerItem)) : f.getInt64(bytesPerItem);
  f.CreateMemCpy(gen.valuePtr(node.output), MaybeAlign(4), gen.valuePtr(in), MaybeAlign(4), bytes);
}

} // namespace seq::codegen

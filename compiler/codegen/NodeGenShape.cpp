// NodeGenShape: ops that move or reduce elements: Permute (transpose,
// permute), Slice (chunk, split, indexing) and Reduce (sum, mean, amax).
// None takes an epilogue inside its kernel; when the graph gives one, it
// runs on the task's rows right after the op.
#include "codegen/Epilogue.h"
#include "codegen/LoopBuilder.h"
#include "codegen/NodeGen.h"

namespace seq::codegen {

using namespace llvm;

Value *constantArray(LlvmGen &gen, int index, const char *what, const std::vector<int64_t> &values) {
  auto *type = ArrayType::get(gen.i64(), values.size());
  std::vector<Constant *> items;
  for (int64_t v : values)
    items.push_back(ConstantInt::get(gen.i64(), uint64_t(v)));
  return new GlobalVariable(gen.module(), type, true, GlobalValue::PrivateLinkage,
                            ConstantArray::get(type, items), gen.nodeSymbol(index, what));
}

namespace {

int64_t product(const std::vector<int64_t> &dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < dims.size(); ++i)
    p *= dims[i];
  return p;
}

// A permutation as dims of the output with their strides in the input,
// after dropping dims of size 1 and merging output neighbours that are
// neighbours in the input too. Dim 0 (possibly the batch) stays first.
struct PermutedDims {
  std::vector<int64_t> sizes, strides;
};

PermutedDims permutedDims(const ir::Shape &in, const std::vector<int64_t> &perm) {
  size_t rank = in.rank();
  std::vector<int64_t> inStride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;)
    inStride[d] = inStride[d + 1] * (in.dims[d + 1] == ir::kBatch ? 1 : in.dims[d + 1]);
  PermutedDims out;
  for (size_t d = 0; d < rank; ++d) {
    int64_t size = in.dims[size_t(perm[d])], stride = inStride[size_t(perm[d])];
    if (d > 0 && size == 1)
      continue;
    if (d > 0 && out.sizes.size() > 1 && out.strides.back() == stride * size) {
      out.sizes.back() *= size;
      out.strides.back() = stride;
      continue;
    }
    out.sizes.push_back(size == ir::kBatch ? 0 : size);
    out.strides.push_back(stride);
  }
  if (out.sizes.size() == 1) { // only the outermost dim is left: rows of one
    out.sizes.push_back(1);
    out.strides.push_back(1);
  }
  return out;
}

} // namespace

// ---- Permute -------------------------------------------------------------------

void genPermute(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &in = g.value(node.inputs.at(0)).shape, &out = g.value(node.output).shape;
  if (node.attrs.perm.size() != in.rank() || (in.batched() && node.attrs.perm[0] != 0))
    fail("permute '" + node.name + "' moves the batch dim or has a bad permutation");
  PermutedDims dims = permutedDims(in, node.attrs.perm);
  int64_t L = dims.sizes.back();
  int64_t rank = int64_t(dims.sizes.size());
  Epilogue epilogue = rowEpilogue(gen, index, L);
  Value *sizes = constantArray(gen, index, "sizes", dims.sizes);
  Value *strides = constantArray(gen, index, "strides", dims.strides);

  // Rows: every output element but those of the last merged dim.
  IRBuilder<> &f = gen.fwd();
  int64_t perItem = out.elementsPerBatch() / L;
  Value *rows = out.batched() ? f.CreateMul(gen.batch(), f.getInt64(perItem)) : f.getInt64(perItem);
  Task task(gen, index, "permute");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  b.CreateCall(gen.kernel("seqk_permute"), {x, y, b.getInt64(rank), sizes, strides, task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, L, task.begin(), task.end());
  task.run(rows, LlvmGen::workOf(out, 1));
}

// ---- Slice -----------------------------------------------------------------------

// Viewed as [outer, D, inner] around dim: output row o, element k is the
// run of `inner` floats at x[(o*D + start + k*step) * inner]; one memcpy
// each (one per row when step is 1).
void genSlice(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &in = g.value(node.inputs.at(0)).shape, &out = g.value(node.output).shape;
  size_t dim = size_t(node.attrs.dim);
  if (dim >= in.rank() || in.dims[dim] == ir::kBatch)
    fail("slice '" + node.name + "' along dim " + std::to_string(dim) + " of " + in.str());
  int64_t inner = product(out.dims, dim + 1, out.rank());
  int64_t D = in.dims[dim], K = out.dims[dim], start = node.attrs.start, step = node.attrs.step;
  Epilogue epilogue = rowEpilogue(gen, index, K * inner);

  Task task(gen, index, "slice");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  emitLoop(b, task.begin(), task.end(), "outer", [&](Value *o) {
    Value *src = LlvmGen::floatGep(b, x, b.CreateMul(b.CreateAdd(b.CreateMul(o, b.getInt64(D)), b.getInt64(start)),
                                                     b.getInt64(inner)));
    Value *dst = LlvmGen::floatGep(b, y, b.CreateMul(o, b.getInt64(K * inner)));
    if (step == 1) {
      b.CreateMemCpy(dst, MaybeAlign(4), src, MaybeAlign(4), K * inner * 4);
      return;
    }
    emitLoop(b, b.getInt64(K), "k", [&](Value *k) {
      Value *from = LlvmGen::floatGep(b, src, b.CreateMul(k, b.getInt64(step * inner)));
      Value *to = LlvmGen::floatGep(b, dst, b.CreateMul(k, b.getInt64(inner)));
      b.CreateMemCpy(to, MaybeAlign(4), from, MaybeAlign(4), inner * 4);
    });
  });
  applyEpilogueToRows(task, epilogue, y, K * inner, task.begin(), task.end());
  task.run(gen.leadingExtent(out, dim), LlvmGen::workOf(out, 1));
}

// ---- Reduce ----------------------------------------------------------------------

// Viewed as [outer, R, inner] with R the reduced dims [dim, dim+span).
void genReduce(LlvmGen &gen, int index) {
  const ir::Graph &g = gen.graph();
  const ir::Node &node = g.nodes[size_t(index)];
  const ir::Shape &in = g.value(node.inputs.at(0)).shape, &out = g.value(node.output).shape;
  size_t dim = size_t(node.attrs.dim), end = dim + size_t(node.attrs.span);
  if (end > in.rank() || (in.batched() && dim == 0))
    fail("reduce '" + node.name + "' over dims of " + in.str());
  int64_t R = product(in.dims, dim, end), inner = product(in.dims, end, in.rank());
  Epilogue epilogue = rowEpilogue(gen, index, inner);

  Task task(gen, index, "reduce");
  IRBuilder<> &b = task.b();
  Value *x = task.capture(gen.valuePtr(node.inputs[0]), "x");
  Value *y = task.capture(gen.valuePtr(node.output), "y");
  b.CreateCall(gen.kernel("seqk_reduce"), {x, y, b.getInt64(R), b.getInt64(inner),
                                           b.getInt32(int32_t(node.attrs.reduce)), task.begin(), task.end()});
  applyEpilogueToRows(task, epilogue, y, inner, task.begin(), task.end());
  task.run(gen.leadingExtent(out, dim), LlvmGen::workOf(in, 1));
}

} // namespace seq::codegen

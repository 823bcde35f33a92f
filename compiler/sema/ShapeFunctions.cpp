// ShapeFunctions: the shape rules of the tensor functions of Functions.def
// that move, split, reduce or combine elements: transpose, permute, chunk,
// split, unsqueeze, squeeze, mean, sum, amax, add/sub/mul/div and dropout.
// Each follows torch's signature and rejects, at the call, anything that
// would move, split or reduce a symbolic batch dimension.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>

namespace seq::sema {

using namespace seq::ast;

namespace {

bool symbolicBatch(const SymShape &shape) { return !shape.empty() && !shape[0].isConstant(); }

// A list of ints from an int, a tuple or list of ints, or several
// positional ints (x.permute(0, 2, 1)); nullopt when not all ints.
std::optional<std::vector<int64_t>> intList(const Value &v) {
  if (v.isConstInt())
    return std::vector<int64_t>{v.asInt()};
  if (v.kind != Value::Kind::Tuple && v.kind != Value::Kind::List)
    return std::nullopt;
  std::vector<int64_t> out;
  for (const Value &item : v.items()) {
    if (!item.isConstInt())
      return std::nullopt;
    out.push_back(item.asInt());
  }
  return out;
}

} // namespace

std::optional<int64_t> Checker::normalizeDim(int64_t dim, int64_t rank, SourceRange range) {
  int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  if (dim < lo || dim > hi) {
    error(range, fmt::format("dimension out of range (expected to be in range of [{}, {}], but got {})",
                             lo, hi, dim));
    return std::nullopt;
  }
  return dim < 0 ? dim + rank : dim;
}

Value Checker::batchError(const FunctionCall &fc, int input, std::string_view what) {
  Diagnostic &d = error(fc.call.range, fmt::format("'{}' would {} the batch dimension of {}; seqc "
                                                   "compiles each batch item independently",
                                                   display(fc.call.range), what, shapeStr(tv(input).shape)));
  noteOrigin(d, input);
  return Value::invalid();
}

Value Checker::shapeNode(TraceNode node, SymShape out, const FunctionCall &fc) {
  int id = newValue(out, fmt::format("'{}' produces {}", display(fc.call.range), shapeStr(out)),
                    fc.call.range);
  node.output = id;
  node.range = fc.call.range;
  addNode(std::move(node));
  return Value::tensorRef(id, fc.call.range);
}

// Binds fc's arguments (tensor first) and checks that `input` is a tensor.
std::optional<BoundArgs> Checker::bindTensorFunction(FunctionCall &fc, std::vector<ParamSpec> params) {
  params.insert(params.begin(), ParamSpec{"input", ArgType::Any, {}});
  std::optional<BoundArgs> bound = bind(fc.spelled, params, fc.args, fc.call.range);
  if (!bound)
    return std::nullopt;
  if (bound->get("input").kind != Value::Kind::Tensor) {
    error(bound->rangeOf("input"), fmt::format("{}() takes a tensor as its first argument, not {}",
                                               fc.spelled, describe(bound->get("input"))));
    return std::nullopt;
  }
  return bound;
}

// ---- Moving dims ------------------------------------------------------------------

Value Checker::fnTranspose(FunctionCall &fc) {
  auto bound = bindTensorFunction(fc, {{"dim0", ArgType::Int, {}}, {"dim1", ArgType::Int, {}}});
  if (!bound)
    return Value::invalid();
  int x = bound->get("input").tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  int64_t rank = int64_t(in.size());
  auto d0 = normalizeDim(bound->getInt("dim0"), rank, bound->rangeOf("dim0"));
  auto d1 = normalizeDim(bound->getInt("dim1"), rank, bound->rangeOf("dim1"));
  if (!d0 || !d1)
    return Value::invalid();
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d)
    perm[size_t(d)] = d;
  std::swap(perm[size_t(*d0)], perm[size_t(*d1)]);
  return permuted(x, in, perm, fc);
}

// x.permute(0, 2, 1), x.permute((0, 2, 1)), torch.permute(x, (0, 2, 1))
Value Checker::fnPermute(FunctionCall &fc) {
  if (fc.args.empty() || fc.args[0].value.kind != Value::Kind::Tensor) {
    error(fc.call.range, fmt::format("{}() takes a tensor as its first argument", fc.spelled));
    return Value::invalid();
  }
  int x = fc.args[0].value.tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  int64_t rank = int64_t(in.size());
  std::vector<int64_t> perm;
  for (size_t i = 1; i < fc.args.size(); ++i) {
    std::optional<std::vector<int64_t>> dims = intList(fc.args[i].value);
    if (!dims || (fc.args.size() > 2 && !fc.args[i].value.isConstInt())) {
      error(fc.args[i].range, "permute() takes the dims as ints or one tuple of ints");
      return Value::invalid();
    }
    perm.insert(perm.end(), dims->begin(), dims->end());
  }
  if (int64_t(perm.size()) != rank) {
    error(fc.call.range, fmt::format("permute(): the number of dims ({}) does not match the "
                                     "tensor's {} dims of {}", perm.size(), rank, shapeStr(in)));
    return Value::invalid();
  }
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t &d : perm) {
    auto n = normalizeDim(d, rank, fc.call.range);
    if (!n)
      return Value::invalid();
    if (seen[size_t(*n)]) {
      error(fc.call.range, fmt::format("permute(): dim {} appears twice", *n));
      return Value::invalid();
    }
    seen[size_t(*n)] = true;
    d = *n;
  }
  return permuted(x, in, perm, fc);
}

// ---- Splitting -------------------------------------------------------------------

namespace {

// The pieces [start, size) of a dim of `total` split into `sizes`.
std::vector<std::pair<int64_t, int64_t>> pieces(const std::vector<int64_t> &sizes) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back({start, s});
    start += s;
  }
  return out;
}

} // namespace

// Tensor `x` (shape `in`) with its dims reordered by `perm` (transpose and
// permute); moving a symbolic batch is an error.
Value Checker::permuted(int x, const SymShape &in, const std::vector<int64_t> &perm,
                        const FunctionCall &fc) {
  if (symbolicBatch(in) && perm[0] != 0)
    return batchError(fc, x, "move");
  TraceNode node;
  node.kind = TraceNode::Kind::Permute;
  node.dims = perm;
  node.inputs = {x};
  SymShape out(in.size());
  for (size_t d = 0; d < in.size(); ++d)
    out[d] = in[size_t(perm[d])];
  return shapeNode(std::move(node), out, fc);
}

// The consecutive pieces of `dim` of tensor `x` (shape `in`) of the given
// sizes, as a tuple of Slice nodes (chunk and split).
Value Checker::slices(int x, const SymShape &in, int64_t dim, const std::vector<int64_t> &sizes,
                      const FunctionCall &fc) {
  std::vector<Value> outs;
  for (auto [start, length] : pieces(sizes)) {
    TraceNode node;
    node.kind = TraceNode::Kind::Slice;
    node.dim = dim;
    node.start = start;
    node.inputs = {x};
    SymShape out = in;
    out[size_t(dim)] = SymInt::of(length);
    outs.push_back(shapeNode(std::move(node), out, fc));
  }
  return Value::tuple(std::move(outs), fc.call.range);
}

// torch.chunk: pieces of ceil(D / chunks), the last one smaller; fewer
// pieces than asked when D is small (torch's rule).
Value Checker::fnChunk(FunctionCall &fc) {
  auto bound = bindTensorFunction(fc, {{"chunks", ArgType::Int, {}}, {"dim", ArgType::Int, Value::integer_(0)}});
  if (!bound)
    return Value::invalid();
  int x = bound->get("input").tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  int64_t chunks = bound->getInt("chunks");
  if (chunks <= 0) {
    error(bound->rangeOf("chunks"), fmt::format("chunk expects 'chunks' to be greater than 0, got: {}", chunks));
    return Value::invalid();
  }
  auto dim = normalizeDim(bound->getInt("dim"), int64_t(in.size()), bound->rangeOf("dim"));
  if (!dim)
    return Value::invalid();
  if (!in[size_t(*dim)].isConstant())
    return batchError(fc, x, "split");
  int64_t total = in[size_t(*dim)].constant, size = (total + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t left = total; left > 0; left -= size)
    sizes.push_back(std::min(size, left));
  if (sizes.empty())
    sizes.push_back(0);
  return slices(x, in, *dim, sizes, fc);
}

// torch.split: pieces of split_size (the last one smaller), or of the
// sizes listed, which must add up to the dim.
Value Checker::fnSplit(FunctionCall &fc) {
  auto bound = bindTensorFunction(fc, {{"split_size_or_sections", ArgType::Any, {}},
                                       {"dim", ArgType::Int, Value::integer_(0)}});
  if (!bound)
    return Value::invalid();
  int x = bound->get("input").tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  auto dim = normalizeDim(bound->getInt("dim"), int64_t(in.size()), bound->rangeOf("dim"));
  if (!dim)
    return Value::invalid();
  if (!in[size_t(*dim)].isConstant())
    return batchError(fc, x, "split");
  int64_t total = in[size_t(*dim)].constant;
  const Value &how = bound->get("split_size_or_sections");
  std::optional<std::vector<int64_t>> sizes = intList(how);
  SourceRange where = bound->rangeOf("split_size_or_sections");
  if (!sizes) {
    error(where, fmt::format("split() takes an int or a list of ints, not {}", describe(how)));
    return Value::invalid();
  }
  if (how.isConstInt()) {
    int64_t size = how.asInt();
    if (size <= 0) {
      error(where, fmt::format("split expects split_size be positive, but got split_size={}", size));
      return Value::invalid();
    }
    sizes->clear();
    for (int64_t left = total; left > 0; left -= size)
      sizes->push_back(std::min(size, left));
  } else {
    int64_t sum = 0;
    for (int64_t s : *sizes) {
      if (s < 0) {
        error(where, fmt::format("split_with_sizes expects split_sizes have only non-negative entries, "
                                 "but got split_sizes={}", pythonStr(how)));
        return Value::invalid();
      }
      sum += s;
    }
    if (sum != total) {
      Diagnostic &d = error(where, fmt::format("split_with_sizes expects split_sizes to sum exactly to {} "
                                               "(input tensor's size at dimension {}), but got "
                                               "split_sizes={}", total, *dim, pythonStr(how)));
      noteOrigin(d, x);
      return Value::invalid();
    }
  }
  if (std::find(sizes->begin(), sizes->end(), 0) != sizes->end()) {
    error(where, "split(): a piece of size 0 is not supported");
    return Value::invalid();
  }
  return slices(x, in, *dim, *sizes, fc);
}

// ---- Adding and removing dims of size 1 ----------------------------------------

Value Checker::fnUnsqueeze(FunctionCall &fc) {
  auto bound = bindTensorFunction(fc, {{"dim", ArgType::Int, {}}});
  if (!bound)
    return Value::invalid();
  int x = bound->get("input").tensor();
  SymShape out = tv(x).shape;
  auto dim = normalizeDim(bound->getInt("dim"), int64_t(out.size()) + 1, bound->rangeOf("dim"));
  if (!dim)
    return Value::invalid();
  if (symbolicBatch(out) && *dim == 0)
    return batchError(fc, x, "move");
  out.insert(out.begin() + *dim, SymInt::of(1));
  TraceNode node;
  node.kind = TraceNode::Kind::View;
  node.inputs = {x};
  return shapeNode(std::move(node), out, fc);
}

Value Checker::fnSqueeze(FunctionCall &fc) {
  auto bound = bindTensorFunction(fc, {{"dim", ArgType::Any, Value::none()}});
  if (!bound)
    return Value::invalid();
  int x = bound->get("input").tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  SymShape out;
  const Value &dimArg = bound->get("dim");
  if (dimArg.kind == Value::Kind::None) {
    if (symbolicBatch(in)) {
      error(fc.call.range, fmt::format("'{}' would remove the batch dimension of {} when the batch is 1; "
                                       "name the dim to squeeze", display(fc.call.range), shapeStr(in)));
      return Value::invalid();
    }
    for (const SymInt &d : in)
      if (!(d == SymInt::of(1)))
        out.push_back(d);
  } else {
    if (!dimArg.isConstInt()) {
      error(bound->rangeOf("dim"), fmt::format("squeeze() takes an int dim, not {}", describe(dimArg)));
      return Value::invalid();
    }
    auto dim = normalizeDim(dimArg.asInt(), int64_t(in.size()), bound->rangeOf("dim"));
    if (!dim)
      return Value::invalid();
    if (!in[size_t(*dim)].isConstant())
      return batchError(fc, x, "remove");
    out = in;
    if (in[size_t(*dim)] == SymInt::of(1))
      out.erase(out.begin() + *dim);
  }
  TraceNode node;
  node.kind = TraceNode::Kind::View;
  node.inputs = {x};
  return shapeNode(std::move(node), out, fc);
}

// ---- Reductions ------------------------------------------------------------------

Value Checker::reduceFunction(FunctionCall &fc, ir::ReduceKind kind) {
  bool amax = kind == ir::ReduceKind::Max || kind == ir::ReduceKind::Min;
  auto bound = bindTensorFunction(fc, {{"dim", ArgType::Any, amax ? Value::tuple({}) : Value::none()},
                                       {"keepdim", ArgType::Bool, Value::boolean_(false)},
                                       {"dtype", ArgType::Any, Value::none()}});
  if (!bound)
    return Value::invalid();
  if (amax && bound->find("dtype")->given) {
    error(bound->rangeOf("dtype"), fmt::format("{}() got an unexpected keyword argument 'dtype'", fc.spelled));
    return Value::invalid();
  }
  if (bound->get("dtype").kind != Value::Kind::None) {
    error(bound->rangeOf("dtype"), "dtype= is not supported: seqc computes in float32");
    return Value::invalid();
  }
  int x = bound->get("input").tensor();
  SymShape in = tv(x).shape; // a copy: new values move the trace
  int64_t rank = int64_t(in.size());
  const Value &dimArg = bound->get("dim");
  std::vector<int64_t> dims;
  if (dimArg.kind == Value::Kind::None || (dimArg.items().empty() && dimArg.kind != Value::Kind::Int)) {
    for (int64_t d = 0; d < rank; ++d)
      dims.push_back(d); // every dim, as torch reduces for dim=None or ()
  } else {
    std::optional<std::vector<int64_t>> listed = intList(dimArg);
    if (!listed) {
      error(bound->rangeOf("dim"), fmt::format("{}() takes an int or a tuple of ints as dim, not {}",
                                               fc.spelled, describe(dimArg)));
      return Value::invalid();
    }
    for (int64_t d : *listed) {
      auto n = normalizeDim(d, rank, bound->rangeOf("dim"));
      if (!n)
        return Value::invalid();
      if (std::find(dims.begin(), dims.end(), *n) != dims.end()) {
        error(bound->rangeOf("dim"), fmt::format("dim {} appears multiple times in the list of dims", *n));
        return Value::invalid();
      }
      dims.push_back(*n);
    }
  }
  std::sort(dims.begin(), dims.end());
  for (int64_t d : dims)
    if (!in[size_t(d)].isConstant())
      return batchError(fc, x, "reduce");
  SymShape kept = in, out;
  for (int64_t d : dims)
    kept[size_t(d)] = SymInt::of(1);
  for (int64_t d = 0; d < rank; ++d)
    if (bound->getBool("keepdim") || std::find(dims.begin(), dims.end(), d) == dims.end())
      out.push_back(kept[size_t(d)]);
  if (dims.empty()) // nothing to reduce (a 0-d tensor): the tensor itself
    return bound->get("input");
  TraceNode node;
  node.kind = TraceNode::Kind::Reduce;
  node.reduce = kind;
  node.dims = dims;
  node.inputs = {x};
  Value reduced = shapeNode(std::move(node), kept, fc);
  if (out == kept)
    return reduced;
  TraceNode view;
  view.kind = TraceNode::Kind::View;
  view.inputs = {reduced.tensor()};
  return shapeNode(std::move(view), out, fc);
}

Value Checker::fnMean(FunctionCall &fc) { return reduceFunction(fc, ir::ReduceKind::Mean); }
Value Checker::fnSum(FunctionCall &fc) { return reduceFunction(fc, ir::ReduceKind::Sum); }
Value Checker::fnAmax(FunctionCall &fc) { return reduceFunction(fc, ir::ReduceKind::Max); }
Value Checker::fnAmin(FunctionCall &fc) { return reduceFunction(fc, ir::ReduceKind::Min); }

// ---- Arithmetic and dropout --------------------------------------------------------

Value Checker::binaryFunction(FunctionCall &fc, BinaryOp op) {
  std::vector<ParamSpec> params{{"other", ArgType::Any, {}}};
  if (op == BinaryOp::Add || op == BinaryOp::Sub)
    params.push_back({"alpha", ArgType::Float, Value::integer_(1)});
  auto bound = bindTensorFunction(fc, params);
  if (!bound)
    return Value::invalid();
  if (const BoundArg *alpha = bound->find("alpha"); alpha && alpha->value.asDouble() != 1) {
    error(alpha->range, fmt::format("{}() with alpha other than 1 is not supported; multiply the "
                                    "other operand", fc.spelled));
    return Value::invalid();
  }
  return binaryTensor(op, bound->get("input"), bound->get("other"), fc.call.range);
}

Value Checker::fnAdd(FunctionCall &fc) { return binaryFunction(fc, BinaryOp::Add); }
Value Checker::fnSub(FunctionCall &fc) { return binaryFunction(fc, BinaryOp::Sub); }
Value Checker::fnMul(FunctionCall &fc) { return binaryFunction(fc, BinaryOp::Mul); }
Value Checker::fnDiv(FunctionCall &fc) { return binaryFunction(fc, BinaryOp::Div); }

// F.dropout(x, p=0.5, training=True, inplace=False) and torch.dropout(x,
// p, train), both required: the identity when training is false, as in
// inference; with training true, random dropout is not inference, so it
// is an error.
Value Checker::fnDropout(FunctionCall &fc) {
  bool torchForm = fc.space == "torch";
  const char *training = torchForm ? "train" : "training";
  std::vector<ParamSpec> params{{"p", ArgType::Float, Value::float_(0.5)},
                                {training, ArgType::Bool, Value::boolean_(true)},
                                {"inplace", ArgType::Bool, Value::boolean_(false)}};
  if (torchForm) {
    params.pop_back();
    params[0].defaultValue = params[1].defaultValue = std::nullopt;
  }
  auto bound = bindTensorFunction(fc, params);
  if (!bound)
    return Value::invalid();
  double p = bound->getFloat("p");
  if (p < 0 || p > 1) {
    error(bound->rangeOf("p"), fmt::format("dropout probability has to be between 0 and 1, but got {}",
                                           pythonFloat(p)));
    return Value::invalid();
  }
  if (bound->getBool(training)) {
    Diagnostic &d = error(fc.call.range, fmt::format("'{}' drops at random in training mode; seqc "
                                                     "compiles inference", display(fc.call.range)));
    d.fixes.push_back({fmt::format("pass {0}=self.training (false when compiled) or {0}=False", training),
                       std::nullopt, ""});
    return Value::invalid();
  }
  return bound->get("input");
}

} // namespace seq::sema

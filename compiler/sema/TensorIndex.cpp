// TensorIndex: indexing a tensor in forward, as torch's basic indexing
// does: `x[:, 0]`, `x[:, 1:3]`, `x[..., ::2]`, `x[:, -1]`, `x[:, None]`.
// Each dim indexed by a slice becomes a Slice node (start, step, count);
// an integer index is a slice of one element whose dim a final View
// removes; `None` inserts a dim of size 1; `...` stands for every dim not
// indexed. The symbolic batch may only be taken whole (`:` or `...`).
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>

namespace seq::sema {

using namespace seq::ast;

namespace {

// One subscript after evaluation.
struct Subscript {
  enum class Kind { Index, Slice, Ellipsis, NewAxis } kind;
  int64_t index = 0;                                  // Index
  std::optional<int64_t> lo, hi;                      // Slice, as written
  int64_t step = 1;                                   // Slice
  SourceRange range;
};

// Python's slice.indices(n) for a positive step: the first element and
// how many there are.
std::pair<int64_t, int64_t> sliceIndices(std::optional<int64_t> lo, std::optional<int64_t> hi,
                                         int64_t step, int64_t n) {
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  int64_t start = lo ? clamp(*lo) : 0, stop = hi ? clamp(*hi) : n;
  int64_t count = stop > start ? (stop - start + step - 1) / step : 0;
  return {start, count};
}

} // namespace

Value Checker::indexTensor(const Value &tensor, const IndexExpr &index, Frame &frame) {
  int x = tensor.tensor();
  if (!tv(x).valid)
    return Value::tensorRef(invalidValue(), index.range);
  SymShape in = tv(x).shape; // a copy: new values move the trace
  std::vector<const Expr *> parts;
  if (auto *tuple = index.index->as<TupleExpr>())
    for (const ExprPtr &e : tuple->elements)
      parts.push_back(e.get());
  else
    parts.push_back(index.index.get());

  // Evaluate the subscripts: constant ints, slices of constant ints, `...`, None.
  std::vector<Subscript> subs;
  auto constant = [&](const ExprPtr &e) -> std::optional<int64_t> {
    Value v = evalF(*e, frame);
    if (v.isInvalid())
      return std::nullopt;
    if (!v.isConstInt()) {
      error(e->range, v.kind == Value::Kind::Int
                          ? std::string("a tensor index must be a constant, but this depends on the batch size")
                          : fmt::format("a tensor index must be an integer constant, not {}", describe(v)));
      return std::nullopt;
    }
    return v.asInt();
  };
  int64_t indexed = 0, ellipses = 0;
  for (const Expr *part : parts) {
    Subscript s{Subscript::Kind::Index, 0, {}, {}, 1, part->range};
    if (part->kind == ExprKind::Ellipsis) {
      s.kind = Subscript::Kind::Ellipsis;
      if (++ellipses > 1) {
        error(part->range, "an index can only have a single ellipsis ('...')");
        return Value::invalid();
      }
    } else if (part->kind == ExprKind::None) {
      s.kind = Subscript::Kind::NewAxis;
    } else if (auto *slice = part->as<SliceExpr>()) {
      s.kind = Subscript::Kind::Slice;
      if (slice->lo && !(s.lo = constant(slice->lo)))
        return Value::invalid();
      if (slice->hi && !(s.hi = constant(slice->hi)))
        return Value::invalid();
      if (slice->step) {
        std::optional<int64_t> step = constant(slice->step);
        if (!step)
          return Value::invalid();
        if (*step <= 0) {
          error(slice->step->range, fmt::format("slice step must be positive, got {}", *step));
          return Value::invalid();
        }
        s.step = *step;
      }
      ++indexed;
    } else {
      Value v = evalF(*part, frame);
      if (v.isInvalid())
        return Value::invalid();
      if (v.kind == Value::Kind::Tensor) {
        error(part->range, "indexing with a tensor (advanced indexing) is not supported; use integers and slices");
        return Value::invalid();
      }
      if (v.kind == Value::Kind::Int && !v.isConstInt()) {
        error(part->range, "a tensor index must be a constant, but this depends on the batch size");
        return Value::invalid();
      }
      if (!v.isConstInt()) {
        error(part->range, fmt::format("a tensor index must be an integer, a slice, '...' or None, not {}",
                                       describe(v)));
        return Value::invalid();
      }
      s.index = v.asInt();
      ++indexed;
    }
    subs.push_back(s);
  }
  int64_t rank = int64_t(in.size());
  if (indexed > rank) {
    Diagnostic &d = error(index.index->range, fmt::format("too many indices for a tensor of dimension {} ({})",
                                                           rank, shapeStr(in)));
    noteOrigin(d, x);
    return Value::invalid();
  }
  // `...` (or the end of the subscripts) covers the dims not indexed.
  auto at = std::find_if(subs.begin(), subs.end(),
                         [](const Subscript &s) { return s.kind == Subscript::Kind::Ellipsis; });
  size_t fill = size_t(rank - indexed);
  if (at != subs.end())
    at = subs.erase(at);
  subs.insert(at, fill, Subscript{Subscript::Kind::Slice, 0, {}, {}, 1, index.index->range});

  SymShape out;       // the final shape
  int current = x;    // after the slices so far
  SymShape shape = in;
  size_t dim = 0;
  for (const Subscript &s : subs) {
    if (s.kind == Subscript::Kind::NewAxis) {
      if (dim == 0 && !in.empty() && !in[0].isConstant()) {
        error(s.range, fmt::format("None before the batch dimension of {} would move it", shapeStr(in)));
        return Value::invalid();
      }
      out.push_back(SymInt::of(1));
      continue;
    }
    SymInt size = in[dim];
    int64_t start = 0, count = 0, step = s.step;
    if (s.kind == Subscript::Kind::Index) {
      if (!size.isConstant()) {
        Diagnostic &d = error(s.range, fmt::format("'{}' indexes the batch dimension of {}; seqc compiles "
                                                   "each batch item independently",
                                                   display(index.range), shapeStr(in)));
        noteOrigin(d, x);
        return Value::invalid();
      }
      int64_t n = size.constant;
      if (s.index < -n || s.index >= n) {
        Diagnostic &d = error(s.range, fmt::format("index {} is out of bounds for dimension {} with size {}",
                                                   s.index, dim, n));
        noteOrigin(d, x);
        return Value::invalid();
      }
      start = s.index < 0 ? s.index + n : s.index;
      count = 1;
    } else if (!size.isConstant()) {
      if (s.lo || s.hi || s.step != 1) {
        Diagnostic &d = error(s.range, fmt::format("'{}' slices the batch dimension of {}; only ':' may "
                                                   "take it whole", display(index.range), shapeStr(in)));
        noteOrigin(d, x);
        return Value::invalid();
      }
      out.push_back(size);
      ++dim;
      continue;
    } else {
      std::tie(start, count) = sliceIndices(s.lo, s.hi, s.step, size.constant);
      if (count == 0) {
        Diagnostic &d = error(s.range, fmt::format("this slice of dimension {} (size {}) is empty; seqc "
                                                   "has no empty tensors", dim, size.constant));
        noteOrigin(d, x);
        return Value::invalid();
      }
    }
    if (count != size.constant) { // not the whole dim: a Slice node
      TraceNode node;
      node.kind = TraceNode::Kind::Slice;
      node.dim = int64_t(dim);
      node.start = start;
      node.step = step;
      node.inputs = {current};
      node.range = index.range;
      shape[dim] = SymInt::of(count);
      current = newValue(shape, fmt::format("'{}' produces {}", display(index.range), shapeStr(shape)),
                         index.range);
      node.output = current;
      addNode(std::move(node));
    }
    if (s.kind == Subscript::Kind::Slice)
      out.push_back(SymInt::of(count));
    ++dim;
  }
  if (out == shape)
    return Value::tensorRef(current, index.range);
  TraceNode view;
  view.kind = TraceNode::Kind::View;
  view.inputs = {current};
  view.range = index.range;
  view.output = newValue(out, fmt::format("'{}' produces {}", display(index.range), shapeStr(out)),
                         index.range);
  int result = view.output;
  addNode(std::move(view));
  return Value::tensorRef(result, index.range);
}

} // namespace seq::sema

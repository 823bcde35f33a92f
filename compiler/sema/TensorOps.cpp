// TensorOps: the shape rules of the forward pass: applying a layer,
// broadcasting, view/reshape/flatten and cat. Each error is reported at
// its place with notes saying where the offending shapes came from; a
// failed op yields an invalid tensor, so that nothing downstream repeats it.
#include "sema/Checker.h"

#include <fmt/format.h>

namespace seq::sema {

using namespace seq::ast;

// A tensor beyond the size limit per sample (basic/Limits.h) is reported.
bool Checker::tensorTooLarge(const SymShape &shape, SourceRange range) {
  int64_t bytes = 4;
  bool fits = true;
  for (const SymInt &d : shape)
    if (d.isConstant())
      fits = fits && !__builtin_mul_overflow(bytes, d.constant, &bytes);
  if (fits && bytes <= limits::kTensorBytes)
    return false;
  error(range, fmt::format("this tensor, {}, would take {} per sample; seqc's limit is {} GiB",
                           shapeStr(shape), fits ? fmt::format("{:.1f} GiB", double(bytes) / (1 << 30))
                                                 : std::string("more than 2^63 bytes"),
                           limits::kTensorBytes >> 30));
  return true;
}

bool Checker::valueFits(const SymShape &shape, SourceRange originRange) {
  if (model_->trace.values.size() >= limits::kForwardOps)
    limitReached(statement_.valid() ? statement_ : originRange, fmt::format("the forward pass has more than {} operations here, seqc's "
                                          "limit (loops are unrolled)", limits::kForwardOps));
  return !overLimit_ && !tensorTooLarge(shape, originRange);
}

int Checker::pushValue(SymShape shape, int origin, SourceRange originRange, bool valid) {
  const SymShape &interned = *model_->trace.shapes.insert(std::move(shape)).first;
  model_->trace.values.push_back({interned, origin, valid, originRange});
  return int(model_->trace.values.size() - 1);
}

int Checker::newValue(SymShape shape, std::string_view origin, SourceRange originRange) {
  if (!valueFits(shape, originRange))
    return invalidValue();
  int id = -1;
  if (!origin.empty()) {
    std::string text(origin);
    text.push_back('\0');
    model_->trace.origins.push_back(TraceOrigin::ofText(model_->trace.originText.copy(text, 2).data()));
    id = int(model_->trace.origins.size() - 1);
  }
  return pushValue(std::move(shape), id, originRange, true);
}

int Checker::newLayerValue(SymShape shape, const ModuleInst *module, SourceRange originRange) {
  if (!valueFits(shape, originRange))
    return invalidValue();
  // The module's first output (callModule makes this one so when it has
  // none) gives the note its shape; another call's of another shape keeps
  // its note as a text.
  const SymShape &interned = *model_->trace.shapes.insert(shape).first;
  if (module->output < 0 || &tv(module->output).shape == &interned) {
    model_->trace.origins.push_back(TraceOrigin::ofModule(module));
    return pushValue(std::move(shape), int(model_->trace.origins.size() - 1), originRange, true);
  }
  std::string_view who = module->path().empty() ? module->className() : module->path();
  return newValue(std::move(shape), fmt::format("'{}' produces {}", who, shapeStr(interned)), originRange);
}

int Checker::newValueFrom(SymShape shape, int from) {
  int origin = tv(from).origin;
  SourceRange originRange = tv(from).originRange;
  if (!valueFits(shape, originRange))
    return invalidValue();
  return pushValue(std::move(shape), origin, originRange, true);
}

void Checker::addNode(TraceNode node) {
  if (options_.keepTraceNodes)
    model_->trace.nodes.push_back(std::move(node));
}

int Checker::invalidValue() {
  return pushValue({}, -1, {}, false);
}

void Checker::noteOrigin(Diagnostic &d, int value) {
  const TraceValue &v = tv(value);
  if (v.origin < 0)
    return;
  const TraceOrigin &o = model_->trace.origins[size_t(v.origin)];
  const ModuleInst *module = o.module();
  if (!module) {
    d.notes.push_back({o.text(), v.originRange});
    return;
  }
  // As callModule names the module.
  std::string_view who = module->path().empty() ? module->className() : module->path();
  d.notes.push_back({fmt::format("'{}' produces {}", who, shapeStr(tv(module->output).shape)), v.originRange});
}

int Checker::callModule(ModuleInst *module, const Value &input, SourceRange callSite) {
  if (input.isInvalid())
    return invalidValue();
  if (input.kind != Value::Kind::Tensor) {
    error(input.range, fmt::format("'{}' takes a tensor, but this is {}",
                                   module->path().empty() ? module->className() : module->path(),
                                   describe(input)));
    return invalidValue();
  }
  std::string who(module->path().empty() ? module->className() : module->path());
  int out = -1;
  if (module->forward() && module->kind != ModuleInst::Kind::User) {
    // A container subclass with its own forward.
    out = traceForward(module, {input.tensor()}, callSite);
    if (module->output < 0 && tv(out).valid)
      module->output = out;
    return out;
  }
  switch (module->kind) {
  case ModuleInst::Kind::Layer:
    out = applyLayer(*module->layer, module, module->args, input.tensor(), callSite,
                     fmt::format("'{}'", who));
    break;
  case ModuleInst::Kind::Sequential: {
    int x = input.tensor();
    for (auto &[name, child] : module->children())
      x = callModule(child, Value::tensorRef(x, callSite), callSite);
    out = x;
    break;
  }
  case ModuleInst::Kind::ModuleList:
  case ModuleInst::Kind::ModuleDict: {
    bool list = module->kind == ModuleInst::Kind::ModuleList;
    Diagnostic &d = error(callSite, fmt::format(
        "'{}' is a {} and cannot be called; {}", who, list ? "ModuleList" : "ModuleDict",
        list ? "index it ('blocks[0](x)') or iterate over it ('for b in blocks { x = b(x) }')"
             : "call one of its modules ('heads.a(x)' or 'heads[\"a\"](x)')"));
    d.notes.push_back({fmt::format("'{}' is defined here", who), module->range()});
    if (list)
      d.fixes.push_back({"to apply its modules in order, make it a Sequential", module->range(), ""});
    return invalidValue();
  }
  case ModuleInst::Kind::User:
    out = traceForward(module, {input.tensor()}, callSite);
    break;
  }
  if (module->output < 0 && tv(out).valid)
    module->output = out;
  return out;
}

int Checker::applyLayer(const LayerSpec &spec, const ModuleInst *module, const BoundArgs &args,
                        int input, SourceRange callSite, const std::string &who) {
  if (!tv(input).valid)
    return invalidValue();
  SymShape inShape = tv(input).shape;
  SourceRange where = module ? module->range() : callSite;
  ShapeCheck check{args, inShape, display(where), {}};
  std::optional<SymShape> out = spec.infer ? spec.infer(check) : std::optional<SymShape>(inShape);
  for (const ShapeProblem &problem : check.problems) {
    Diagnostic &d = error(where, problem.message);
    noteOrigin(d, input);
    if (module && callSite.end > callSite.begin && callSite.begin != where.begin)
      d.notes.push_back({fmt::format("{} is called here", who), callSite});
    const BoundArg *arg = args.find(problem.fixArg);
    if (arg && arg->given) {
      // The call as written, with the argument's value replaced.
      std::string call(sources_.text(where));
      size_t at = arg->range.begin - where.begin, length = arg->range.end - arg->range.begin;
      if (at + length <= call.size()) {
        std::string fixed = call.substr(0, at) + problem.fixValue + call.substr(at + length);
        d.fixes.push_back({fmt::format("{} would match", displayOf(fixed)),
                           arg->range, problem.fixValue});
      }
    }
  }
  if (!out)
    return invalidValue();
  if (std::optional<SymInt> elements = product(*out); !elements) {
    error(where, fmt::format("{} would produce a tensor of shape {}, whose size does not fit in 64 bits",
                             check.display, shapeStr(*out)));
    return invalidValue();
  }
  int id = spec.shapePreserving ? newValueFrom(*out, input)
           : module               ? newLayerValue(*out, module, where)
                                  : newValue(*out, fmt::format("{} produces {}", who, shapeStr(*out)), where);
  TraceNode node;
  node.kind = TraceNode::Kind::Layer;
  node.layer = &spec;
  node.module = module;
  if (module && &args == &module->args) {
    node.args = &module->args;
  } else if (options_.keepTraceNodes) {
    model_->trace.callArgs.push_back(args);
    node.args = &model_->trace.callArgs.back();
  }
  node.inputs = {input};
  node.output = id;
  node.range = callSite;
  addNode(std::move(node));
  return id;
}

// ---- Element-wise operators ---------------------------------------------------------

static const char *verb(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "add";
  case BinaryOp::Sub: return "subtract";
  case BinaryOp::Mul: return "multiply";
  case BinaryOp::Div: return "divide";
  default: return "combine";
  }
}

Value Checker::binaryTensor(BinaryOp op, const Value &lhs, const Value &rhs, SourceRange range) {
  bool supported = op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Mul ||
                   op == BinaryOp::Div;
  if (!supported) {
    error(range, fmt::format("'{}' is not supported on tensors; use + - * /", ast::spelling(op)));
    return Value::tensorRef(invalidValue(), range);
  }
  // A tensor and a constant: x * 0.5, 1 - x.
  if (lhs.kind != Value::Kind::Tensor || rhs.kind != Value::Kind::Tensor) {
    const Value &t = lhs.kind == Value::Kind::Tensor ? lhs : rhs;
    const Value &s = lhs.kind == Value::Kind::Tensor ? rhs : lhs;
    if (!s.isNumber() || (s.kind == Value::Kind::Int && !s.integer().isConstant())) {
      error(range, fmt::format("cannot {} a tensor and {}", verb(op), describe(s)));
      return Value::tensorRef(invalidValue(), range);
    }
    if (!tv(t.tensor()).valid)
      return Value::tensorRef(invalidValue(), range);
    int id = newValueFrom(tv(t.tensor()).shape, t.tensor());
    TraceNode node;
    node.kind = TraceNode::Kind::Scalar;
    node.op = op;
    node.scalar = s.asDouble();
    node.scalarOnLeft = lhs.kind != Value::Kind::Tensor;
    node.inputs = {t.tensor()};
    node.output = id;
    node.range = range;
    addNode(std::move(node));
    return Value::tensorRef(id, range);
  }
  if (!tv(lhs.tensor()).valid || !tv(rhs.tensor()).valid)
    return Value::tensorRef(invalidValue(), range);
  // PyTorch's broadcasting: align the trailing dims; each pair is equal or
  // one of them is 1.
  const SymShape &a = tv(lhs.tensor()).shape, &b = tv(rhs.tensor()).shape;
  size_t rank = std::max(a.size(), b.size());
  SymShape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    std::optional<SymInt> da = i < rank - a.size() ? std::nullopt : std::optional(a[i - (rank - a.size())]);
    std::optional<SymInt> db = i < rank - b.size() ? std::nullopt : std::optional(b[i - (rank - b.size())]);
    if (!da || *da == SymInt::of(1))
      out[i] = db ? *db : *da;
    else if (!db || *db == SymInt::of(1) || *da == *db)
      out[i] = *da;
    else {
      Diagnostic &d = error(range, fmt::format(
          "cannot {} tensors of shapes {} and {}: dimension {} is {} in one and {} in the other",
          verb(op), shapeStr(a), shapeStr(b), i, da->str(), db->str()));
      noteOrigin(d, lhs.tensor());
      noteOrigin(d, rhs.tensor());
      return Value::tensorRef(invalidValue(), range);
    }
  }
  int id = out == a   ? newValueFrom(out, lhs.tensor())
           : out == b ? newValueFrom(out, rhs.tensor())
                      : newValue(out, fmt::format("'{}' produces {}", display(range), shapeStr(out)), range);
  TraceNode node;
  node.kind = TraceNode::Kind::Binary;
  node.op = op;
  node.inputs = {lhs.tensor(), rhs.tensor()};
  node.output = id;
  node.range = range;
  addNode(std::move(node));
  return Value::tensorRef(id, range);
}

// ---- view / reshape / flatten ----------------------------------------------------------

Value Checker::view(const Value &tensor, const std::vector<EvalArg> &args, const FunctionCall &fc) {
  const CallExpr &call = fc.call;
  if (!tv(tensor.tensor()).valid)
    return Value::tensorRef(invalidValue(), call.range);
  const SymShape &in = tv(tensor.tensor()).shape;
  std::string what = display(call.range);
  // view(a, b, c) or view((a, b, c))
  std::vector<Value> dims;
  if (args.size() == 1 && (args[0].value.kind == Value::Kind::Tuple || args[0].value.kind == Value::Kind::List))
    dims = args[0].value.items();
  else
    for (const EvalArg &a : args)
      dims.push_back(a.value);
  int inferred = -1;
  SymShape out;
  for (size_t i = 0; i < dims.size(); ++i) {
    const Value &d = dims[i];
    if (d.kind != Value::Kind::Int) {
      error(args.size() == 1 ? args[0].range : args[i].range,
            fmt::format("a view size must be an int, not {}", describe(d)));
      return Value::tensorRef(invalidValue(), call.range);
    }
    if (d.integer() == SymInt::of(-1)) {
      if (inferred >= 0) {
        error(call.range, "only one dimension of a view can be -1");
        return Value::tensorRef(invalidValue(), call.range);
      }
      inferred = int(i);
    } else if (d.integer().isConstant() && d.integer().constant < 0) {
      error(call.range, fmt::format("invalid view size {}", d.integer().constant));
      return Value::tensorRef(invalidValue(), call.range);
    }
    out.push_back(d.integer());
  }
  std::optional<SymInt> total = product(in);
  SymShape known = out;
  if (inferred >= 0)
    known.erase(known.begin() + inferred);
  std::optional<SymInt> part = product(known);
  if (!total || !part) {
    error(call.range, fmt::format("{} multiplies batch-dependent sizes", what));
    return Value::tensorRef(invalidValue(), call.range);
  }
  auto mismatch = [&](std::string detail) {
    Diagnostic &d = error(call.range, fmt::format("{} cannot {} a tensor of shape {} ({} elements){}",
                                                  what, fc.spelled,
                                                  shapeStr(in), total->str(), detail));
    noteOrigin(d, tensor.tensor());
    return Value::tensorRef(invalidValue(), call.range);
  };
  if (inferred >= 0) {
    // total = inferred * part, solved over coeff*N + constant.
    SymInt t = *total, p = *part;
    std::optional<SymInt> solved;
    if (p.isConstant() && p.constant != 0 && t.coeff % p.constant == 0 && t.constant % p.constant == 0)
      solved = SymInt{t.coeff / p.constant, t.constant / p.constant};
    else if (!p.isConstant() && p.constant == 0 && t.constant == 0 && t.coeff % p.coeff == 0)
      solved = SymInt::of(t.coeff / p.coeff);
    if (!solved)
      return mismatch(fmt::format(": the other sizes multiply to {}, which does not divide it", p.str()));
    out[size_t(inferred)] = *solved;
  } else if (!(*part == *total)) {
    return mismatch(fmt::format(" as {} ({} elements)", shapeStr(out), part->str()));
  }
  // The batch must stay the first dimension, as it was.
  if (!in.empty() && !in[0].isConstant()) {
    bool keepsBatch = !out.empty() && out[0] == in[0];
    for (size_t i = 1; keepsBatch && i < out.size(); ++i)
      keepsBatch = out[i].isConstant();
    if (!keepsBatch) {
      Diagnostic &d = error(call.range, fmt::format(
          "{} turns {} into {}, which changes the batch dimension", what, shapeStr(in), shapeStr(out)));
      noteOrigin(d, tensor.tensor());
      std::optional<SymInt> rest = product(SymShape(in.begin() + 1, in.end()));
      const std::string &object = fc.self, &method = fc.spelled;
      std::string replacement = fmt::format("{}.{}({}.shape[0], -1)", object, method, object);
      d.fixes.push_back({fmt::format("{} keeps the batch and gives [N, {}]", replacement,
                                     rest ? rest->str() : "?"),
                         call.range, replacement});
      return Value::tensorRef(invalidValue(), call.range);
    }
  }
  int id = newValue(out, fmt::format("'{}' produces {}", what, shapeStr(out)), call.range);
  TraceNode node;
  node.kind = TraceNode::Kind::View;
  node.inputs = {tensor.tensor()};
  node.output = id;
  node.range = call.range;
  addNode(std::move(node));
  return Value::tensorRef(id, call.range);
}

Value Checker::flatten(const Value &tensor, int64_t start, int64_t end, const CallExpr &call) {
  BoundArgs args;
  args.call = call.range;
  args.args = {{"start_dim", Value::integer_(start), true, call.range},
               {"end_dim", Value::integer_(end), true, call.range}};
  return Value::tensorRef(applyLayer(*findLayer("Flatten"), nullptr, args, tensor.tensor(), call.range,
                                     fmt::format("'{}'", display(call.range))),
                          call.range);
}

// ---- cat ----------------------------------------------------------------------------------

Value Checker::concat(const std::vector<Value> &tensors, int64_t dim, const CallExpr &call) {
  if (tensors.empty()) {
    error(call.range, "cat needs at least one tensor");
    return Value::tensorRef(invalidValue(), call.range);
  }
  for (const Value &t : tensors) {
    if (t.kind != Value::Kind::Tensor) {
      error(t.range, fmt::format("cat takes tensors, but this is {}", describe(t)));
      return Value::tensorRef(invalidValue(), call.range);
    }
    if (!tv(t.tensor()).valid)
      return Value::tensorRef(invalidValue(), call.range);
  }
  const SymShape &first = tv(tensors[0].tensor()).shape;
  int64_t rank = int64_t(first.size());
  if (dim < -rank || dim >= rank) {
    error(call.range, fmt::format("cat dimension {} is out of range for {}-d tensors", dim, rank));
    return Value::tensorRef(invalidValue(), call.range);
  }
  size_t d = size_t(dim < 0 ? dim + rank : dim);
  SymShape out = first;
  for (size_t k = 1; k < tensors.size(); ++k) {
    const SymShape &shape = tv(tensors[k].tensor()).shape;
    bool ok = shape.size() == first.size();
    size_t bad = 0;
    for (size_t i = 0; ok && i < shape.size(); ++i)
      if (i != d && !(shape[i] == first[i])) {
        ok = false;
        bad = i;
      }
    if (!ok) {
      Diagnostic &d2 = error(call.range, shape.size() != first.size()
          ? fmt::format("cannot cat tensors of shapes {} and {}: their ranks differ", shapeStr(first), shapeStr(shape))
          : fmt::format("cannot cat tensors of shapes {} and {} along dimension {}: dimension {} is {} "
                        "and {}", shapeStr(first), shapeStr(shape), d, bad, first[bad].str(), shape[bad].str()));
      noteOrigin(d2, tensors[0].tensor());
      noteOrigin(d2, tensors[k].tensor());
      return Value::tensorRef(invalidValue(), call.range);
    }
    std::optional<SymInt> sum = SymInt::add(out[d], shape[d]);
    if (!sum) {
      error(call.range, "the size of the concatenation does not fit in 64 bits");
      return Value::tensorRef(invalidValue(), call.range);
    }
    out[d] = *sum;
  }
  if (!out[d].isConstant()) {
    error(call.range, fmt::format("cat along dimension {} would join along the batch dimension", d));
    return Value::tensorRef(invalidValue(), call.range);
  }
  int id = newValue(out, fmt::format("'{}' produces {}", display(call.range), shapeStr(out)), call.range);
  TraceNode node;
  node.kind = TraceNode::Kind::Concat;
  node.dim = int64_t(d);
  for (const Value &t : tensors)
    node.inputs.push_back(t.tensor());
  node.output = id;
  node.range = call.range;
  addNode(std::move(node));
  return Value::tensorRef(id, call.range);
}

} // namespace seq::sema

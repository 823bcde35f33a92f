// Eval: the evaluation of expressions at construction time: constants,
// names, indexing, tuples, comprehensions, range(), and the calls that
// build modules.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>

namespace seq::sema {

using namespace seq::ast;

Value Checker::eval(const Expr &e, const Scope &scope) {
  if (overLimit_)
    return Value::invalid();
  switch (e.kind) {
  case ExprKind::Name: return evalName(*e.as<NameExpr>(), scope);
  case ExprKind::Int:
    if (e.as<IntExpr>()->tooLarge())
      return Value::invalid(); // reported by the parser
    return Value::integer_(e.as<IntExpr>()->value(), e.range);
  case ExprKind::Float:
    if (e.as<FloatExpr>()->outOfRange())
      return Value::invalid(); // reported by the parser
    return Value::float_(e.as<FloatExpr>()->value, e.range);
  case ExprKind::String: return Value::string(e.as<StringExpr>()->value, e.range);
  case ExprKind::Bool: return Value::boolean_(e.as<BoolExpr>()->value, e.range);
  case ExprKind::None: return Value::none(e.range);
  case ExprKind::Unary: {
    auto *u = e.as<UnaryExpr>();
    Value v = eval(*u->operand, scope);
    if (u->op == '+' || v.isInvalid())
      return v;
    return arithmetic(BinaryOp::Sub, Value::integer_(0, e.range), v, e.range);
  }
  case ExprKind::Binary: {
    auto *b = e.as<BinaryExpr>();
    return arithmetic(b->op, eval(*b->lhs, scope), eval(*b->rhs, scope), e.range);
  }
  case ExprKind::Tuple:
  case ExprKind::List: {
    std::vector<Value> items;
    const auto &elements = e.kind == ExprKind::Tuple ? e.as<TupleExpr>()->elements
                                                     : e.as<ListExpr>()->elements;
    for (const ExprPtr &el : elements)
      items.push_back(eval(*el, scope));
    for (const Value &item : items)
      if (item.isInvalid())
        return Value::invalid();
    return e.kind == ExprKind::Tuple ? Value::tuple(std::move(items), e.range)
                                     : Value::list(std::move(items), e.range);
  }
  case ExprKind::Comprehension: return evalComprehension(*e.as<ComprehensionExpr>(), scope);
  case ExprKind::Call: return evalCall(*e.as<CallExpr>(), scope);
  case ExprKind::Compare:
  case ExprKind::Not:
  case ExprKind::BoolOp:
  case ExprKind::Ternary:
  case ExprKind::FString:
  case ExprKind::Star:
    return evalLogic(e, [&](const Expr &x) { return eval(x, scope); });
  case ExprKind::Index: {
    auto *index = e.as<IndexExpr>();
    return evalIndex(eval(*index->object, scope), *index, scope);
  }
  case ExprKind::Attribute: {
    auto *attr = e.as<AttributeExpr>();
    Value object = eval(*attr->object, scope);
    if (object.isInvalid())
      return object;
    if (object.kind == Value::Kind::Module) {
      if (ModuleInst *child = object.module()->child(attr->name))
        return Value::moduleRef(child, e.range);
      auto it = object.module()->constants().find(attr->name);
      if (it != object.module()->constants().end())
        return it->second;
      auto absent = object.module()->absent().find(attr->name);
      if (absent != object.module()->absent().end()) {
        Value none = Value::none(e.range);
        none.setOrigin(absent->second,
                       fmt::format("'{}' was not created: this condition was false", attr->name));
        return none;
      }
      if (attr->name == "training")
        return Value::boolean_(false, e.range);
    }
    if (object.kind == Value::Kind::Callable && text(attr->object->range) == "math")
      return Value::invalid();
    error(attr->nameRange, fmt::format("{} has no attribute '{}'", describe(object), attr->name));
    return Value::invalid();
  }
  case ExprKind::Slice: break;
  case ExprKind::Ellipsis:
    error(e.range, "'...' only indexes a tensor, in forward");
    return Value::invalid();
  }
  error(e.range, "a slice is only allowed inside '[ ]'");
  return Value::invalid();
}

Value Checker::evalName(const NameExpr &expr, const Scope &scope) {
  const std::string id(expr.name());
  if (const Value *v = scope.lookup(id)) {
    Value copy = *v;
    copy.range = expr.range;
    return copy;
  }
  for (const Scope *s = &scope; s; s = s->parent)
    if (s->owner) {
      auto it = s->owner->constants().find(id);
      if (it != s->owner->constants().end())
        return it->second;
      if (ModuleInst *child = s->owner->child(id))
        return Value::moduleRef(child, expr.range);
      if (id == "self")
        return Value::moduleRef(s->owner, expr.range);
      auto absent = s->owner->absent().find(id);
      if (absent != s->owner->absent().end()) {
        Value none = Value::none(expr.range);
        none.setOrigin(absent->second,
                       fmt::format("'{}' was not created: this condition was false", id));
        return none;
      }
    }
  // A layer, container, module or helper by name: a value to call later.
  if (isCallableName(id))
    return Value::callable(id, expr.range);
  std::vector<std::string> candidates;
  for (const Scope *s = &scope; s; s = s->parent) {
    for (const auto &[n, v] : s->names)
      candidates.push_back(n);
    if (s->vars)
      for (const auto &[n, v] : *s->vars)
        candidates.push_back(n);
    if (s->owner)
      for (const auto &[n, c] : s->owner->children())
        candidates.push_back(n);
  }
  Diagnostic &d = error(expr.range, fmt::format("unknown name '{}'", shortened(id)));
  if (auto s = suggest(id, candidates))
    d.fixes.push_back({fmt::format("did you mean '{}'?", *s), expr.range, *s});
  return Value::invalid();
}

Value Checker::evalIndex(const Value &object, const IndexExpr &index, const Scope &scope) {
  if (object.isInvalid())
    return object;
  if (object.kind == Value::Kind::Str)
    return stringOperation(index.range, index.index->as<SliceExpr>()
                                            ? "strings cannot be sliced in .seq"
                                            : "strings cannot be indexed in .seq");
  if (auto *slice = index.index->as<SliceExpr>()) {
    // A slice of a list or tuple: cfg[1:], channels[::-1].
    if (object.kind != Value::Kind::List && object.kind != Value::Kind::Tuple) {
      error(index.range, "slices of modules are only supported in forward");
      return Value::invalid();
    }
    auto bound = [&](const ExprPtr &e) -> std::optional<std::optional<int64_t>> {
      if (!e)
        return std::optional<int64_t>();
      Value v = eval(*e, scope);
      if (v.isInvalid())
        return std::nullopt;
      if (!v.isConstInt()) {
        error(e->range, fmt::format("a slice bound must be an integer constant, not {}", describe(v)));
        return std::nullopt;
      }
      return std::optional<int64_t>(v.asInt());
    };
    auto lo = bound(slice->lo), hi = bound(slice->hi), step = bound(slice->step);
    if (!lo || !hi || !step)
      return Value::invalid();
    int64_t n = int64_t(object.items().size()), st = step->value_or(1);
    if (st == 0) {
      error(slice->step->range, "slice step cannot be zero");
      return Value::invalid();
    }
    auto clampIndex = [&](int64_t i) {
      if (i < 0)
        i += n;
      return st < 0 ? std::clamp<int64_t>(i, -1, n - 1) : std::clamp<int64_t>(i, 0, n);
    };
    int64_t begin = lo->has_value() ? clampIndex(**lo) : (st < 0 ? n - 1 : 0);
    int64_t end = hi->has_value() ? clampIndex(**hi) : (st < 0 ? -1 : n);
    Value result = object;
    std::vector<Value> &items = result.mutableItems();
    items.clear();
    for (int64_t i = begin; st > 0 ? i < end : i > end; i += st)
      items.push_back(object.items()[size_t(i)]);
    result.range = index.range;
    return result;
  }
  Value key = eval(*index.index, scope);
  if (key.isInvalid())
    return key;
  std::vector<Value> items;
  if (object.kind == Value::Kind::Module) {
    if (key.kind == Value::Kind::Str) {
      if (ModuleInst *child = object.module()->child(key.str()))
        return Value::moduleRef(child, index.range);
      error(index.index->range, fmt::format("{} has no child '{}'", describe(object), key.str()));
      return Value::invalid();
    }
    for (auto &[n, c] : object.module()->children())
      items.push_back(Value::moduleRef(c, index.range));
  } else if (object.kind == Value::Kind::Tuple || object.kind == Value::Kind::List) {
    items = object.items();
  } else {
    error(index.range, fmt::format("{} cannot be indexed", describe(object)));
    return Value::invalid();
  }
  if (!key.isConstInt()) {
    error(index.index->range, fmt::format("an index must be an integer constant, not {}", describe(key)));
    return Value::invalid();
  }
  int64_t i = key.asInt(), n = int64_t(items.size());
  if (i < -n || i >= n) {
    error(index.index->range, fmt::format("index {} is out of range for {} of {} item{}", i,
                                          describe(object), n, n == 1 ? "" : "s"));
    return Value::invalid();
  }
  Value result = items[size_t(i < 0 ? i + n : i)];
  result.range = index.range;
  return result;
}

Value Checker::evalComprehension(const ComprehensionExpr &comp, const Scope &scope) {
  Value iterable = eval(*comp.iterable, scope);
  if (iterable.isInvalid())
    return iterable;
  std::vector<Value> elements = iterable.items();
  if (iterable.kind == Value::Kind::Module && iterable.module()->isContainer()) {
    elements.clear();
    for (auto &[n, c] : iterable.module()->children())
      elements.push_back(Value::moduleRef(c, comp.iterable->range));
  } else if (iterable.kind != Value::Kind::List && iterable.kind != Value::Kind::Tuple) {
    error(comp.iterable->range, fmt::format("cannot iterate over {}", describe(iterable)));
    return Value::invalid();
  }
  std::vector<Value> items;
  for (const Value &item : elements) {
    Scope inner{&scope, {{comp.var, item}}, nullptr};
    Value v = eval(*comp.element, inner);
    if (v.isInvalid())
      return v;
    items.push_back(std::move(v));
  }
  return Value::list(std::move(items), comp.range);
}

std::vector<EvalArg> Checker::evalArgs(const ArgList &args, const Scope &scope) {
  std::vector<EvalArg> out;
  out.reserve(args.size());
  for (const Arg &a : args)
    out.push_back({a.name(), a.nameRange(), a.value()->range, eval(*a.value(), scope)});
  return out;
}

// Whether `name` is a value in `scope` (a local, a parameter, a constant,
// a child), as evalName() would find it before any layer or namespace.
bool Checker::isBound(const std::string &name, const Scope &scope) const {
  if (scope.lookup(name))
    return true;
  for (const Scope *s = &scope; s; s = s->parent)
    if (s->owner && (s->owner->constants().count(name) || s->owner->child(name) || name == "self"))
      return true;
  return false;
}

bool Checker::isCallableName(const std::string &name) const {
  if (findLayer(name) || name == "Sequential" || name == "ModuleList" || name == "ModuleDict" ||
      name == "SequentialCell" || name == "CellList")
    return true;
  auto def = definitions_.find(name);
  return def != definitions_.end() && !def->second->isModel;
}

Value Checker::evalRange(const std::vector<EvalArg> &args, const CallExpr &call) {
  std::vector<int64_t> bounds;
  for (const EvalArg &a : args) {
    if (a.value.isInvalid())
      return Value::invalid();
    if (!a.name.empty() || !a.value.isConstInt()) {
      error(a.range, "range() takes integer constants");
      return Value::invalid();
    }
    bounds.push_back(a.value.asInt());
  }
  if (bounds.empty() || bounds.size() > 3) {
    error(call.range, fmt::format("range() takes 1 to 3 arguments, {} given", bounds.size()));
    return Value::invalid();
  }
  int64_t start = bounds.size() > 1 ? bounds[0] : 0;
  int64_t stop = bounds.size() > 1 ? bounds[1] : bounds[0];
  int64_t step = bounds.size() > 2 ? bounds[2] : 1;
  if (step == 0) {
    error(args[2].range, "range() step must not be zero");
    return Value::invalid();
  }
  constexpr int64_t kMaxItems = 100000;
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    if (items.size() == kMaxItems) {
      error(call.range, fmt::format("range() has more than {} items", kMaxItems));
      return Value::invalid();
    }
    items.push_back(Value::integer_(i, call.range));
    if (__builtin_add_overflow(i, step, &i))
      break;
  }
  return Value::list(std::move(items), call.range);
}

// A call whose callee is an expression, not a name:
// `partial(LayerNorm, eps=1e-6)(8)` constructs the layer, as calling the
// partial bound to a name would.
Value Checker::callValue(const CallExpr &call, const Scope &scope) {
  Value target = eval(*call.callee, scope);
  std::vector<EvalArg> args = evalArgs(call.args, scope);
  if (target.isInvalid())
    return target;
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  if (target.kind == Value::Kind::None)
    return callNone(target, call);
  if (target.kind != Value::Kind::Callable) {
    error(call.callee->range, fmt::format("'{}' is {}, which cannot be called here{}",
                                          text(call.callee->range), describe(target),
                                          target.kind == Value::Kind::Module
                                              ? " (a module is called in forward)" : ""));
    return Value::invalid();
  }
  return construct(target, std::move(args), call);
}

Value Checker::evalCall(const CallExpr &call, const Scope &scope) {
  std::string callee = calleeName(*call.callee);
  bool container = callee == "Sequential" || callee == "SequentialCell" || callee == "ModuleList" ||
                   callee == "CellList" || callee == "ModuleDict";
  // A name bound to a value: a `module` parameter, a partial, a constant.
  const Value *bound = nullptr;
  auto *name = call.callee->as<NameExpr>();
  if (container && name)
    bound = scope.lookup(std::string(name->name()));
  if (container && !(bound && (bound->kind == Value::Kind::Callable || bound->kind == Value::Kind::None)))
    return evalContainer(callee, call, scope);
  if (!name && !call.callee->as<AttributeExpr>())
    return callValue(call, scope);
  std::vector<EvalArg> args = evalArgs(call.args, scope);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  if (name)
    bound = scope.lookup(std::string(name->name()));
  if (bound && bound->kind == Value::Kind::Callable)
    return construct(*bound, std::move(args), call);
  if (bound && bound->kind == Value::Kind::None)
    return callNone(*bound, call);
  if (callee == "range")
    return evalRange(args, call);
  if (callee == "partial" || callee == "functools.partial")
    return makePartial(args, call);
  if (std::optional<Value> builtin = callBuiltin(callee, args, call))
    return *builtin;
  if (callee == "OrderedDict") {
    if (args.size() != 1 || (args[0].value.kind != Value::Kind::List &&
                             args[0].value.kind != Value::Kind::Tuple)) {
      error(call.range, "OrderedDict() takes one list of ('name', module) pairs");
      return Value::invalid();
    }
    Value pairs = args[0].value;
    pairs.kind = Value::Kind::List;
    pairs.setStr("OrderedDict");
    return pairs;
  }
  if (const LayerSpec *spec = findLayer(callee))
    return buildLayer(*spec, args, call);
  auto def = definitions_.find(callee);
  if (def != definitions_.end()) {
    if (def->second->isModel) {
      error(call.callee->range, fmt::format("'{}' is a model; only modules can be used inside "
                                            "other definitions", callee));
      return Value::invalid();
    }
    if (def->second->isDef)
      return callHelper(*def->second, args, call);
    return instantiate(*def->second, args, call);
  }
  if (auto *attr = call.callee->as<AttributeExpr>()) {
    auto *selfName = attr->object->as<NameExpr>();
    // `arch.startswith(...)`: a method of a value in scope, not a layer
    // in a namespace such as `nn`.
    const Expr *root = attr->object.get();
    while (auto *a = root->as<AttributeExpr>())
      root = a->object.get();
    auto *rootName = root->as<NameExpr>();
    bool member = (callee.find('.') == std::string::npos &&
                   !isModuleNamespace(text(attr->object->range))) ||
                  (selfName && selfName->name() == "self");
    if (member || (rootName && isBound(std::string(rootName->name()), scope))) {
      Value object = eval(*attr->object, scope);
      if (object.isInvalid())
        return object;
      if (member && object.kind == Value::Kind::Callable)
        return construct(object, std::move(args), call);
      if (member && object.kind == Value::Kind::None)
        return callNone(object, call);
      if (object.kind == Value::Kind::Str)
        return stringOperation(call.callee->range, "strings have no methods in .seq");
      error(attr->nameRange, fmt::format("{} has no method '{}' here", describe(object), attr->name));
      return Value::invalid();
    }
  }
  return unknownLayer(call, callee);
}

} // namespace seq::sema

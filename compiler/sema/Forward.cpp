// Forward: traces a forward pass: statements run in order, loops unrolled,
// names resolved (a local, a child, a parameter, the batch, a function),
// calls of children, functions and tensor methods recorded in the trace.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace seq::sema {

using namespace seq::ast;

void collectAssignments(const std::vector<StmtPtr> &body, std::map<std::string, SourceRange> &out) {
  for (const StmtPtr &s : body) {
    if (auto *a = s->as<AssignStmt>()) {
      if (!a->target.empty())
        out.emplace(a->target, a->targetRange);
      for (const AssignTarget &t : a->unpack)
        out.emplace(t.name, t.range);
    } else if (auto *f = s->as<ForStmt>()) {
      for (const AssignTarget &t : f->unpack)
        out.emplace(t.name, t.range);
      collectAssignments(f->body, out);
    } else if (auto *i = s->as<IfStmt>()) {
      collectAssignments(i->then, out);
      collectAssignments(i->orElse, out);
    }
  }
}

namespace {

// None standing for a child this instantiation did not create.
Value absentChild(const ModuleInst &module, const std::string &name, SourceRange range) {
  auto it = module.absent().find(name);
  if (it == module.absent().end())
    return Value::invalid();
  Value none = Value::none(range);
  none.setOrigin(it->second, fmt::format("'{}' was not created in this instantiation: this "
                                        "condition was false", name));
  return none;
}

} // namespace

int Checker::traceForward(ModuleInst *module, const std::vector<int> &inputs, SourceRange callSite) {
  if (module->kind != ModuleInst::Kind::User && !module->forward()) {
    if (inputs.size() != 1)
      return invalidValue();
    return callModule(module, Value::tensorRef(inputs[0], callSite), callSite);
  }
  if (!module->forward() || incomplete_.count(module))
    return invalidValue(); // reported with the definition
  const ForwardStmt &forward = *module->forward();
  bool isModel = module == model_->root;
  if (forward.params.size() != inputs.size()) {
    std::string expected;
    for (const ModelInput &in : model_->inputs)
      expected += (expected.empty() ? "" : ", ") + in.name;
    error(forward.range, isModel
        ? fmt::format("forward of model '{}' must take its inputs, forward({})", model_->name, expected)
        : fmt::format("forward of '{}' must take exactly one tensor", module->className()));
    return invalidValue();
  }
  // `self(x)` in a forward, or a module that reaches itself through the
  // modules it calls: the trace would never end (Python's RecursionError).
  if (auto from = std::find(tracing_.begin(), tracing_.end(), module); from != tracing_.end()) {
    std::string path;
    for (auto it = from; it != tracing_.end(); ++it)
      path += fmt::format("{} -> ", (*it)->className());
    error(callSite, from + 1 == tracing_.end()
        ? fmt::format("module '{}' calls itself in forward, which would recurse without end",
                      module->className())
        : fmt::format("modules call each other in forward in a cycle: {}{}", path, module->className()));
    return invalidValue();
  }
  if (++forwardDepth_ > 64) {
    error(callSite, "modules are nested more than 64 deep");
    --forwardDepth_;
    return invalidValue();
  }
  Frame frame;
  frame.module = module;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (isModel && forward.params[i].name != model_->inputs[i].name)
      error(forward.params[i].range, fmt::format("forward's parameter {} is '{}', but the model's "
                                                 "input {} is '{}'", i + 1, forward.params[i].name,
                                                 i + 1, model_->inputs[i].name));
    frame.locals[forward.params[i].name] = Value::tensorRef(inputs[i], forward.params[i].range);
  }
  collectAssignments(forward.body, frame.assignedLater);
  // Errors inside say which instantiation they are in.
  if (module->definition())
    instantiating_.push_back({module->definition(), module->range()});
  SourceRange caller = statement_;
  tracing_.push_back(module);
  exec(forward.body, frame);
  tracing_.pop_back();
  statement_ = caller;
  if (module->definition())
    instantiating_.pop_back();
  --forwardDepth_;
  if (!frame.returned && overLimit_)
    return invalidValue();
  if (!frame.returned) {
    error(forward.range, fmt::format("forward of '{}' does not return a value", module->className()))
        .fixes.push_back({"end it with 'return x'", std::nullopt, ""});
    return invalidValue();
  }
  const Value &result = *frame.returned;
  if (result.isInvalid())
    return invalidValue();
  if (result.kind != Value::Kind::Tensor) {
    error(result.range, fmt::format("forward must return a tensor, but this is {}", describe(result)));
    return invalidValue();
  }
  return result.tensor();
}

void Checker::exec(const std::vector<StmtPtr> &stmts, Frame &frame) {
  for (const StmtPtr &stmt : stmts) {
    if (frame.returned || overLimit_)
      return;
    statement_ = stmt->range;
    if (auto *assign = stmt->as<AssignStmt>()) {
      // A local may take a child's name: from there on the bare name is
      // the local, and `self.NAME` the child.
      Value v = evalF(*assign->value, frame);
      if (assign->isUnpack()) {
        unpackInto(*assign, v, [&](const AssignTarget &t, Value item) {
          if (!t.name.empty())
            frame.locals[t.name] = std::move(item);
        });
        continue;
      }
      if (assign->targetExpr) {
        reportTargetExpr(*assign, true);
        continue;
      }
      if (assign->augOp) {
        auto current = NameExpr::make(assign->targetRange, assign->target);
        Value lhs = evalF(*current, frame);
        // Out of place, as PyTorch computes `out += identity` for autograd.
        v = arithmetic(*assign->augOp, lhs, v, assign->range);
      }
      frame.locals[assign->target] = v;
    } else if (auto *ret = stmt->as<ReturnStmt>()) {
      frame.returned = evalF(*ret->value, frame);
    } else if (auto *loop = stmt->as<ForStmt>()) {
      std::vector<Value> items;
      Value iterable = evalF(*loop->iterable, frame);
      if (iterate(iterable, loop->iterable->range, items).isInvalid()) {
        invalidateAssigned({&loop->body}, frame.locals);
        continue;
      }
      for (const Value &item : items) {
        if (!bindLoopVars(*loop, item, [&](const std::string &n, Value v) { frame.locals[n] = std::move(v); }))
          break;
        exec(loop->body, frame);
        if (frame.returned)
          return;
      }
    } else if (auto *branch = stmt->as<IfStmt>()) {
      std::optional<bool> taken = truth(evalF(*branch->cond, frame), branch->cond->range);
      if (taken)
        exec(*taken ? branch->then : branch->orElse, frame);
      else
        invalidateAssigned({&branch->then, &branch->orElse}, frame.locals);
    } else if (auto *e = stmt->as<ExprStmt>()) {
      evalF(*e->expr, frame);
    } else {
      error(stmt->range, "forward cannot be nested");
    }
  }
}

// After an error in a condition or an iterable (reported), the names its
// blocks would have bound hold an invalid value: whichever branch would
// have run, their uses stay silent instead of "unknown name" or a check of
// a value the block would have changed.
void invalidateAssigned(std::initializer_list<const std::vector<StmtPtr> *> blocks,
                        std::map<std::string, Value> &names) {
  std::map<std::string, SourceRange> assigned;
  for (const std::vector<StmtPtr> *block : blocks)
    collectAssignments(*block, assigned);
  for (const auto &[name, range] : assigned)
    names[name] = Value::invalid();
}

// The items of something a `for` can run over: a ModuleList, a Sequential,
// a slice of one, a ModuleDict's values(), a list, a range.
Value Checker::iterate(const Value &iterable, SourceRange range, std::vector<Value> &items) {
  if (iterable.isInvalid())
    return iterable;
  if (iterable.kind == Value::Kind::Module && iterable.module()->isContainer()) {
    if (iterable.module()->kind == ModuleInst::Kind::ModuleDict) {
      error(range, "iterating a ModuleDict gives its keys; iterate over its values() instead");
      return Value::invalid();
    }
    for (auto &[name, child] : iterable.module()->children())
      items.push_back(Value::moduleRef(child, range));
    return iterable;
  }
  if (iterable.kind == Value::Kind::List || iterable.kind == Value::Kind::Tuple) {
    items = iterable.items();
    return iterable;
  }
  error(range, fmt::format("cannot iterate over {}", describe(iterable)));
  return Value::invalid();
}

// A tensor whose shape is unknown after an error, or a tuple holding an
// invalid value, is itself invalid: nothing downstream reports on it again.
Value Checker::evalF(const Expr &e, Frame &frame) {
  if (overLimit_)
    return Value::invalid();
  Value v = evalExprF(e, frame);
  if (v.kind == Value::Kind::Tensor && !tv(v.tensor()).valid)
    return Value::invalid();
  if (v.kind == Value::Kind::Tuple || v.kind == Value::Kind::List)
    for (const Value &item : v.items())
      if (item.isInvalid())
        return Value::invalid();
  return v;
}

Value Checker::evalExprF(const Expr &e, Frame &frame) {
  switch (e.kind) {
  case ExprKind::Name: return evalNameF(*e.as<NameExpr>(), frame);
  case ExprKind::Attribute: return evalAttributeF(*e.as<AttributeExpr>(), frame);
  case ExprKind::Index: return evalIndexF(*e.as<IndexExpr>(), frame);
  case ExprKind::Call: return callF(*e.as<CallExpr>(), frame);
  case ExprKind::Unary: {
    auto *u = e.as<UnaryExpr>();
    Value v = evalF(*u->operand, frame);
    if (u->op == '+' || v.isInvalid())
      return v;
    if (v.kind == Value::Kind::Tensor)
      return binaryTensor(BinaryOp::Mul, v, Value::float_(-1.0, e.range), e.range);
    return arithmetic(BinaryOp::Sub, Value::integer_(0, e.range), v, e.range);
  }
  case ExprKind::Binary: {
    auto *b = e.as<BinaryExpr>();
    Value lhs = evalF(*b->lhs, frame);
    Value rhs = evalF(*b->rhs, frame);
    return arithmetic(b->op, lhs, rhs, e.range);
  }
  case ExprKind::Tuple:
  case ExprKind::List: {
    std::vector<Value> items;
    for (const ExprPtr &el : e.kind == ExprKind::Tuple ? e.as<TupleExpr>()->elements
                                                       : e.as<ListExpr>()->elements)
      items.push_back(evalF(*el, frame));
    return e.kind == ExprKind::Tuple ? Value::tuple(std::move(items), e.range)
                                     : Value::list(std::move(items), e.range);
  }
  case ExprKind::Compare:
  case ExprKind::Not:
  case ExprKind::BoolOp:
  case ExprKind::Ternary:
  case ExprKind::FString:
  case ExprKind::Star:
    return evalLogic(e, [&](const Expr &x) { return evalF(x, frame); });
  case ExprKind::Comprehension:
    error(e.range, "comprehensions build modules in a body; in forward, use a for loop");
    return Value::invalid();
  case ExprKind::Slice:
    error(e.range, "a slice is only allowed inside '[ ]'");
    return Value::invalid();
  case ExprKind::Ellipsis:
    error(e.range, "'...' is only allowed inside '[ ]'");
    return Value::invalid();
  default:
    return eval(e, Scope{}); // literals
  }
}

Value Checker::evalNameF(const NameExpr &expr, Frame &frame) {
  const std::string id(expr.name());
  auto local = frame.locals.find(id);
  if (local != frame.locals.end()) {
    Value v = local->second;
    v.range = expr.range;
    return v;
  }
  // An inlined helper sees its parameters and locals, not the caller's
  // children and constants.
  if (ModuleInst *child = frame.helper ? nullptr : frame.module->child(id))
    return Value::moduleRef(child, expr.range);
  auto constant = frame.module->constants().find(id);
  if (!frame.helper && constant != frame.module->constants().end())
    return constant->second;
  if (Value absent = absentChild(*frame.module, id, expr.range);
      !frame.helper && !absent.isInvalid())
    return absent;
  for (const ModelInput &in : model_->inputs)
    if (!in.batchName.empty() && in.batchName == id)
      return Value::symInt(SymInt::batch(), expr.range);
  if (id == "self")
    return Value::moduleRef(frame.module, expr.range);
  if (isBareFunction(id)) {
    error(expr.range, fmt::format("'{}' is a function; call it, as in '{}(x)'", id, id));
    return Value::invalid();
  }
  auto later = frame.assignedLater.find(id);
  if (later != frame.assignedLater.end()) {
    error(expr.range, fmt::format("'{}' is used before it is assigned", id))
        .notes.push_back({"it is assigned later, here", later->second});
    return Value::invalid();
  }
  std::vector<std::string> candidates;
  for (const auto &[n, v] : frame.locals)
    candidates.push_back(n);
  for (const auto &[n, c] : frame.module->children())
    candidates.push_back(n);
  for (const auto &[n, c] : frame.module->constants())
    candidates.push_back(n);
  Diagnostic &d = error(expr.range, fmt::format("unknown name '{}'", shortened(id)));
  if (auto s = suggest(id, candidates))
    d.fixes.push_back({fmt::format("did you mean '{}'?", *s), expr.range, *s});
  return Value::invalid();
}

Value Checker::evalAttributeF(const AttributeExpr &attr, Frame &frame) {
  Value object = evalF(*attr.object, frame);
  if (object.isInvalid())
    return object;
  if (object.kind == Value::Kind::Tensor && attr.name == "shape") {
    std::vector<Value> dims;
    for (const SymInt &d : tv(object.tensor()).shape)
      dims.push_back(Value::symInt(d, attr.range));
    return Value::tuple(std::move(dims), attr.range);
  }
  if (object.kind == Value::Kind::Module) {
    if (ModuleInst *child = object.module()->child(attr.name))
      return Value::moduleRef(child, attr.range);
    auto it = object.module()->constants().find(attr.name);
    if (it != object.module()->constants().end())
      return it->second;
    if (Value absent = absentChild(*object.module(), attr.name, attr.range); !absent.isInvalid())
      return absent;
    if (attr.name == "training")
      return Value::boolean_(false, attr.range); // seqc compiles inference
    std::vector<std::string> candidates;
    for (const auto &[n, c] : object.module()->children())
      candidates.push_back(n);
    Diagnostic &d = error(attr.nameRange, fmt::format("'{}' has no child '{}'",
        object.module() == frame.module ? object.module()->className() : text(attr.object->range),
        attr.name));
    if (auto s = suggest(attr.name, candidates))
      d.fixes.push_back({fmt::format("did you mean '{}'?", *s), attr.nameRange, *s});
    return Value::invalid();
  }
  error(attr.nameRange, fmt::format("{} has no attribute '{}'", describe(object), attr.name));
  return Value::invalid();
}

Value Checker::evalIndexF(const IndexExpr &index, Frame &frame) {
  Value object = evalF(*index.object, frame);
  if (object.isInvalid())
    return object;
  if (object.kind == Value::Kind::Tensor)
    return indexTensor(object, index, frame);
  if (object.kind == Value::Kind::Str)
    return evalIndex(object, index, Scope{}); // reports it
  if (index.index->kind == ExprKind::Tuple || index.index->kind == ExprKind::Ellipsis) {
    error(index.index->range, fmt::format("{} takes one index or slice", describe(object)));
    return Value::invalid();
  }
  auto *slice = index.index->as<SliceExpr>();
  if (!slice) {
    // Integer locals and constants may index: blocks[i] inside a loop.
    Scope scope;
    for (const auto &[n, v] : frame.locals)
      if (v.kind == Value::Kind::Int || v.kind == Value::Kind::Str)
        scope.names[n] = v;
    for (const auto &[n, v] : frame.module->constants())
      scope.names.emplace(n, v);
    return evalIndex(object, index, scope);
  }
  // A slice: of a container's children, or of a tuple (x.shape[1:]).
  std::vector<Value> items;
  bool sequential = object.kind == Value::Kind::Module &&
                    object.module()->kind == ModuleInst::Kind::Sequential;
  if (object.kind == Value::Kind::Module && object.module()->isContainer()) {
    for (auto &[n, c] : object.module()->children())
      items.push_back(Value::moduleRef(c, index.range));
  } else if (object.kind == Value::Kind::Tuple || object.kind == Value::Kind::List) {
    items = object.items();
  } else {
    error(index.range, fmt::format("{} cannot be sliced", describe(object)));
    return Value::invalid();
  }
  int64_t n = int64_t(items.size());
  auto bound = [&](const ExprPtr &e, int64_t fallback) -> std::optional<int64_t> {
    if (!e)
      return fallback;
    Value v = evalF(*e, frame);
    if (v.isInvalid())
      return std::nullopt;
    if (!v.isConstInt()) {
      error(e->range, fmt::format("a slice bound must be an integer constant, not {}", describe(v)));
      return std::nullopt;
    }
    return v.asInt();
  };
  std::optional<int64_t> step = bound(slice->step, 1);
  if (step && *step == 0) {
    error(slice->step->range, "slice step cannot be zero");
    return Value::invalid();
  }
  std::optional<int64_t> lo = bound(slice->lo, step && *step < 0 ? n - 1 : 0);
  std::optional<int64_t> hi = bound(slice->hi, step && *step < 0 ? -n - 1 : n);
  if (!step || !lo || !hi)
    return Value::invalid();
  auto clampIndex = [&](int64_t i, bool negativeStep) {
    if (i < 0)
      i += n;
    return negativeStep ? std::clamp<int64_t>(i, -1, n - 1) : std::clamp<int64_t>(i, 0, n);
  };
  std::vector<Value> picked;
  for (int64_t i = clampIndex(*lo, *step < 0), end = clampIndex(*hi, *step < 0);
       *step > 0 ? i < end : i > end; i += *step)
    picked.push_back(items[size_t(i)]);
  Value result = object.kind == Value::Kind::Tuple ? Value::tuple(std::move(picked), index.range)
                                                   : Value::list(std::move(picked), index.range);
  if (sequential)
    result.setStr("Sequential"); // a slice of a Sequential can be called
  return result;
}

std::vector<EvalArg> Checker::evalArgsF(const ArgList &args, Frame &frame) {
  std::vector<EvalArg> out;
  out.reserve(args.size());
  for (const Arg &a : args)
    out.push_back({a.name(), a.nameRange(), a.value()->range, evalF(*a.value(), frame)});
  return out;
}

Value Checker::callF(const CallExpr &call, Frame &frame) {
  const Expr &callee = *call.callee;
  auto *attr = callee.as<AttributeExpr>();
  if (attr) {
    std::string space = text(attr->object->range);
    if (space == "torch.jit" && attr->name == "is_scripting")
      return Value::boolean_(false, call.range);
    // torch.cat(...), F.relu(...), nn.functional.gelu(...)
    if (std::string_view fspace = functionSpace(space); !fspace.empty())
      return callFunction(fspace, attr->name, call, frame);
    if (space == "math")
      if (std::optional<Value> v = callBuiltinF(calleeName(callee), call, frame))
        return *v;
    // A list of tensors: feats.append(y).
    if (auto *listName = attr->object->as<NameExpr>()) {
      auto local = frame.locals.find(std::string(listName->name()));
      if (local != frame.locals.end() && local->second.kind == Value::Kind::List)
        return listMethod(local->second, *attr, call, frame);
    }
  }

  Value target;
  if (auto *expr = callee.as<NameExpr>()) {
    const std::string name(expr->name());
    bool shadowed = frame.locals.count(name) || frame.module->child(name) ||
                    frame.module->constants().count(name);
    if (!shadowed && isBareFunction(name))
      return callFunction("", name, call, frame);
    if (!shadowed) {
      auto def = definitions_.find(name);
      if (def != definitions_.end() && def->second->isDef) {
        std::vector<EvalArg> args = evalArgsF(call.args, frame);
        for (const EvalArg &a : args)
          if (a.value.isInvalid())
            return Value::invalid();
        return callHelperF(*def->second, args, call, frame);
      }
      if (std::optional<Value> v = callBuiltinF(name, call, frame))
        return *v;
    }
    if (!shadowed && (findLayer(name) || definitions_.count(name) ||
                      name == "Sequential" || name == "ModuleList")) {
      error(call.range, fmt::format("'{}' creates a module; create it in the body ('name = {}') and "
                                    "call it by name in forward", name, text(call.range)));
      return Value::invalid();
    }
    target = evalNameF(*expr, frame);
  } else if (attr) {
    Value object = evalF(*attr->object, frame);
    if (object.isInvalid())
      return object;
    if (object.kind == Value::Kind::Tensor)
      return callMethod(object, attr->name, call, frame);
    if (object.kind == Value::Kind::Str)
      return stringOperation(call.callee->range, "strings have no methods in .seq");
    if (object.kind == Value::Kind::Module && attr->name == "get_submodule")
      return getSubmodule(object, call, frame);
    // self.children() of any module (nn.Module.children), values() of a container.
    if (object.kind == Value::Kind::Module &&
        ((object.module()->isContainer() && attr->name == "values") || attr->name == "children")) {
      std::vector<Value> items;
      for (auto &[n, c] : object.module()->children())
        items.push_back(Value::moduleRef(c, call.range));
      return Value::list(std::move(items), call.range);
    }
    target = evalAttributeF(*attr, frame);
  } else if (auto *inner = callee.as<CallExpr>();
             inner && !(inner->callee->as<AttributeExpr>() &&
                        inner->callee->as<AttributeExpr>()->name == "get_submodule")) {
    // `ReLU()(x)`: a layer without parameters, made and applied at once.
    Scope scope;
    scope.owner = frame.module;
    target = evalCall(*inner, scope);
    const ModuleInst *m = target.module();
    if (m && m->kind == ModuleInst::Kind::Layer && m->layer->parameters &&
        !m->layer->parameters(m->args).empty()) {
      error(inner->range, fmt::format("'{}' has parameters; create it in the body and call it by "
                                      "name in forward", text(inner->range)));
      return Value::invalid();
    }
  } else {
    target = evalF(callee, frame);
  }
  if (target.isInvalid())
    return target;
  if (target.kind == Value::Kind::None)
    return callNone(target, call);

  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  if (target.kind == Value::Kind::List && target.str() == "Sequential") {
    if (args.size() != 1)
      return Value::invalid();
    Value x = args[0].value;
    for (const Value &m : target.items()) {
      int out = callModule(m.module(), x, call.range);
      x = Value::tensorRef(out, call.range);
    }
    return x;
  }
  if (target.kind == Value::Kind::Callable) {
    // A layer class from a `module` parameter: modules are made in the body.
    error(callee.range, fmt::format("'{}' is {}: create the layer in the body ('name = {}(...)') "
                                    "and call that in forward", text(callee.range),
                                    describe(target), text(callee.range)));
    return Value::invalid();
  }
  if (target.kind != Value::Kind::Module) {
    error(callee.range, fmt::format("'{}' is {}, which cannot be called", text(callee.range),
                                    describe(target)));
    return Value::invalid();
  }
  if (args.size() != 1 || !args[0].name.empty()) {
    error(call.range, fmt::format("'{}' takes one tensor, but {} argument{} given",
                                  text(callee.range), args.size(), args.size() == 1 ? " was" : "s were"));
    return Value::invalid();
  }
  return Value::tensorRef(callModule(target.module(), args[0].value, call.range), call.range);
}

std::optional<Value> Checker::callBuiltinF(const std::string &name, const CallExpr &call,
                                           Frame &frame) {
  static const char *const names[] = {"int", "float", "round", "min", "max", "abs", "len",
                                      "str", "bool", "math.ceil", "math.floor", "math.sqrt",
                                      "enumerate", "zip"};
  if (std::find(std::begin(names), std::end(names), name) == std::end(names))
    return name.starts_with("math.") ? callBuiltin(name, {}, call) : std::nullopt; // reports it
  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  for (EvalArg &a : args) {
    if (a.value.isInvalid())
      return Value::invalid();
    // zip(self.blocks, feats): a container iterates as the list of its children.
    if ((name == "enumerate" || name == "zip") && a.value.kind == Value::Kind::Module &&
        a.value.module()->isContainer()) {
      std::vector<Value> children;
      for (auto &[n, c] : a.value.module()->children())
        children.push_back(Value::moduleRef(c, a.range));
      a.value = Value::list(std::move(children), a.range);
    }
  }
  return callBuiltin(name, args, call);
}

// module.get_submodule("block1-0") or ("features.denseblock1"): a child
// whose name is no identifier.
Value Checker::getSubmodule(const Value &object, const CallExpr &call, Frame &frame) {
  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  if (args.size() != 1 || args[0].value.kind != Value::Kind::Str) {
    if (args.size() != 1 || !args[0].value.isInvalid())
      error(call.range, "get_submodule() takes one string, the child's name");
    return Value::invalid();
  }
  ModuleInst *m = object.module();
  const std::string &path = args[0].value.str();
  size_t begin = 0;
  while (m && begin <= path.size()) {
    size_t dot = path.find('.', begin);
    std::string part = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    ModuleInst *child = m->child(part);
    if (!child) {
      std::vector<std::string> names;
      for (auto &[n, c] : m->children())
        names.push_back(n);
      Diagnostic &d = error(args[0].range, fmt::format("'{}' has no child '{}'", m->className(), part));
      if (auto s = suggest(part, names))
        d.fixes.push_back({fmt::format("did you mean '{}'?", *s), std::nullopt, ""});
      return Value::invalid();
    }
    m = child;
    if (dot == std::string::npos)
      break;
    begin = dot + 1;
  }
  return Value::moduleRef(m, call.range);
}

// append, extend and insert on a local list (of tensors, usually).
Value Checker::listMethod(Value &list, const AttributeExpr &attr, const CallExpr &call, Frame &frame) {
  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  if (attr.name == "append" && args.size() == 1 && args[0].name.empty()) {
    list.mutableItems().push_back(args[0].value);
  } else if (attr.name == "extend" && args.size() == 1 &&
             (args[0].value.kind == Value::Kind::List || args[0].value.kind == Value::Kind::Tuple)) {
    list.mutableItems().insert(list.items().end(), args[0].value.items().begin(),
                               args[0].value.items().end());
  } else if (attr.name == "insert" && args.size() == 2 && args[0].value.isConstInt()) {
    int64_t n = int64_t(list.items().size()), i = args[0].value.asInt();
    i = std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
    list.mutableItems().insert(list.items().begin() + i, args[1].value);
  } else {
    error(attr.nameRange, fmt::format("lists support append(x), extend(list) and insert(i, x) in "
                                      "forward, not this call of '{}'", attr.name));
    return Value::invalid();
  }
  return Value::none(call.range);
}

} // namespace seq::sema

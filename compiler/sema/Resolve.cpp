// Resolve: definitions, cycles between modules, and module construction:
// evaluating module expressions (layers, containers, user modules,
// comprehensions) and running module bodies, as nn.Module.__init__ would.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace seq::sema {

using namespace seq::ast;

const Value *Scope::lookup(const std::string &name) const {
  for (const Scope *s = this; s; s = s->parent) {
    auto it = s->names.find(name);
    if (it != s->names.end())
      return &it->second;
  }
  return nullptr;
}

std::vector<std::unique_ptr<CheckedModel>> check(const File &file, const SourceManager &sources,
                                                 Diagnostics &diags) {
  return Checker(file, sources, diags).run();
}

std::vector<std::unique_ptr<CheckedModel>> Checker::run() {
  collectDefinitions();
  reportCycles();
  std::vector<std::unique_ptr<CheckedModel>> models;
  for (const auto &def : file_.definitions)
    if (def->isModel && definitions_[def->name] == def.get())
      models.push_back(checkModel(*def));
  return models;
}

void Checker::collectDefinitions() {
  for (const auto &def : file_.definitions) {
    if (findLayer(def->name) || def->name == "Sequential" || def->name == "ModuleList" ||
        def->name == "ModuleDict") {
      error(def->nameRange, fmt::format("'{}' is a built-in layer and cannot be redefined", def->name));
      continue;
    }
    auto [it, inserted] = definitions_.emplace(def->name, def.get());
    if (!inserted) {
      error(def->nameRange, fmt::format("'{}' is defined twice", def->name))
          .notes.push_back({"first defined here", it->second->nameRange});
    }
  }
}

// Finds each definition's uses of other definitions (as callees), then the
// cycles among them; a cycle is reported once, at the use that closes it.
void Checker::reportCycles() {
  std::map<const Definition *, std::vector<std::pair<const Definition *, SourceRange>>> uses;
  std::function<void(const Expr &, const Definition &)> scanExpr;
  std::function<void(const Stmt &, const Definition &)> scanStmt;
  scanExpr = [&](const Expr &e, const Definition &owner) {
    if (auto *call = e.as<CallExpr>()) {
      auto it = definitions_.find(calleeName(*call->callee));
      if (it != definitions_.end())
        uses[&owner].push_back({it->second, call->callee->range});
      scanExpr(*call->callee, owner);
      for (const Arg &a : call->args)
        scanExpr(*a.value, owner);
    } else if (auto *b = e.as<BinaryExpr>()) {
      scanExpr(*b->lhs, owner);
      scanExpr(*b->rhs, owner);
    } else if (auto *c = e.as<ComprehensionExpr>()) {
      scanExpr(*c->element, owner);
    } else if (auto *t = e.as<TupleExpr>()) {
      for (const ExprPtr &x : t->elements)
        scanExpr(*x, owner);
    } else if (auto *l = e.as<ListExpr>()) {
      for (const ExprPtr &x : l->elements)
        scanExpr(*x, owner);
    }
  };
  scanStmt = [&](const Stmt &s, const Definition &owner) {
    if (auto *a = s.as<AssignStmt>())
      scanExpr(*a->value, owner);
    else if (auto *x = s.as<ExprStmt>())
      scanExpr(*x->expr, owner);
    else if (auto *f = s.as<ForStmt>())
      for (const StmtPtr &b : f->body)
        scanStmt(*b, owner);
  };
  for (const auto &def : file_.definitions) {
    if (def->expr)
      scanExpr(*def->expr, *def);
    for (const StmtPtr &s : def->body)
      scanStmt(*s, *def);
  }

  enum class Mark { None, Active, Done };
  std::map<const Definition *, Mark> marks;
  std::vector<const Definition *> stack;
  std::function<void(const Definition *)> visit = [&](const Definition *d) {
    marks[d] = Mark::Active;
    stack.push_back(d);
    for (const auto &[target, range] : uses[d]) {
      if (marks[target] == Mark::Active) {
        auto from = std::find(stack.begin(), stack.end(), target);
        std::string path;
        for (auto it = from; it != stack.end(); ++it) {
          path += (*it)->name + " -> ";
          inCycle_.insert(*it);
        }
        path += target->name;
        Diagnostic &diag = error(range, target == d
            ? fmt::format("module '{}' uses itself", d->name)
            : fmt::format("modules use each other in a cycle: {}", path));
        diag.notes.push_back({fmt::format("'{}' is defined here", target->name), target->nameRange});
      } else if (marks[target] == Mark::None) {
        visit(target);
      }
    }
    stack.pop_back();
    marks[d] = Mark::Done;
  };
  for (const auto &def : file_.definitions)
    if (marks[def.get()] == Mark::None)
      visit(def.get());
}

// ---- Models -------------------------------------------------------------------------

std::unique_ptr<CheckedModel> Checker::checkModel(const Definition &def) {
  auto model = std::make_unique<CheckedModel>();
  model->name = def.name;
  model->definition = &def;
  model_ = model.get();
  unsigned errorsBefore = diags_.errorCount();

  checkModelInputs(def, *model);
  if (inCycle_.count(&def)) {
    model->valid = false;
    return model;
  }

  Scope scope;
  Value root;
  if (def.expr) {
    root = eval(*def.expr, scope);
    if (root.kind == Value::Kind::Module) {
      root.module->className = def.name;
    } else if (!root.isInvalid()) {
      error(def.expr->range, fmt::format("a model must be a module, but this is {}", describe(root)));
      root = Value::invalid();
    }
    if (def.params.size() != 1 && root.kind == Value::Kind::Module)
      error(def.nameRange, fmt::format("model '{}' has {} inputs; a model defined with '=' takes "
                                       "exactly one (use a body with a forward for more)",
                                       def.name, def.params.size()));
  } else {
    ModuleInst *module = newModule(ModuleInst::Kind::User, def.name, def.nameRange);
    runBody(module, def.body, scope, def);
    root = Value::moduleRef(module);
  }

  if (root.kind == Value::Kind::Module) {
    model->root = root.module;
    assignPaths(model->root, "");
    bool inputsOk = diags_.errorCount() == errorsBefore;
    if (inputsOk || !model->inputs.empty()) {
      std::vector<int> inputs;
      for (const ModelInput &in : model->inputs)
        inputs.push_back(newValue(in.shape, fmt::format("input '{}' is {}", in.name, shapeStr(in.shape, in.batchName.empty() ? "N" : in.batchName)), in.range));
      model->trace.inputs = inputs;
      if (model->inputs.size() == def.params.size())
        model->trace.output = traceForward(model->root, inputs, def.nameRange);
      if (model->trace.output >= 0 && tv(model->trace.output).valid && !inputs.empty()) {
        model->root->called = true;
        model->root->inputShape = tv(inputs[0]).shape;
        model->root->outputShape = tv(model->trace.output).shape;
      }
    }
  }
  model->valid = model->root && diags_.errorCount() == errorsBefore && model->trace.output >= 0 &&
                 tv(model->trace.output).valid;
  model_ = nullptr;
  return model;
}

void Checker::checkModelInputs(const Definition &def, CheckedModel &model) {
  std::string batchName;
  for (const DefParam &param : def.params) {
    if (param.type.kind != TypeExpr::Kind::Shape) {
      error(param.type.range, fmt::format("model input '{}' must be a tensor shape such as "
                                          "[N, 3, 32, 32]", param.name));
      continue;
    }
    if (!param.type.name.empty() && param.type.name != "f32")
      error(param.type.range, fmt::format("unsupported element type '{}': seqc compiles float32 "
                                          "('f32') models", param.type.name));
    if (param.defaultValue)
      error(param.defaultValue->range, "a model input cannot have a default value");
    ModelInput input{param.name, {}, "", param.nameRange};
    bool ok = !param.type.dims.empty();
    if (!ok)
      error(param.type.range, fmt::format("model input '{}' needs at least one dimension", param.name));
    for (size_t i = 0; ok && i < param.type.dims.size(); ++i) {
      const Expr &dim = *param.type.dims[i];
      auto *name = dim.as<NameExpr>();
      if (i == 0 && name && !definitions_.count(name->name)) {
        if (!batchName.empty() && batchName != name->name)
          error(dim.range, fmt::format("all inputs must share one batch dimension, but this one is "
                                       "'{}' and an earlier one is '{}'", name->name, batchName));
        batchName = input.batchName = name->name;
        input.shape.push_back(SymInt::batch());
        continue;
      }
      Value v = eval(dim, Scope{});
      if (v.isInvalid()) {
        ok = false;
      } else if (!v.isConstInt()) {
        error(dim.range, fmt::format("a dimension must be an integer constant{}, not {}",
                                     i == 0 ? " or a batch name" : "", describe(v)));
        ok = false;
      } else if (v.asInt() < 1) {
        error(dim.range, fmt::format("a dimension must be at least 1, got {}", v.asInt()));
        ok = false;
      } else {
        input.shape.push_back(v.integer);
      }
    }
    if (ok && input.batchName.empty() && !model.inputs.empty() && !model.inputs[0].batchName.empty())
      error(param.type.range, "all inputs must share one batch dimension");
    if (ok && product(input.shape) == std::nullopt)
      error(param.type.range, fmt::format("the shape of '{}' has more elements than fit in 64 bits",
                                          param.name));
    else if (ok)
      model.inputs.push_back(std::move(input));
  }
}

void Checker::assignPaths(ModuleInst *module, const std::string &path) {
  if (!module->path.empty() || module == model_->root) {
    if (module != model_->root || !path.empty())
      return; // shared: keeps its first path
  }
  module->path = path;
  for (auto &[name, child] : module->children)
    if (child->path.empty() && child != model_->root)
      assignPaths(child, path.empty() ? name : path + "." + name);
}

ModuleInst *Checker::newModule(ModuleInst::Kind kind, std::string className, SourceRange range) {
  auto module = std::make_unique<ModuleInst>();
  module->kind = kind;
  module->className = std::move(className);
  module->range = range;
  model_->arena.push_back(std::move(module));
  return model_->arena.back().get();
}

// ---- Expressions at construction time -----------------------------------------------

Value Checker::eval(const Expr &e, const Scope &scope) {
  switch (e.kind) {
  case ExprKind::Name: return evalName(*e.as<NameExpr>(), scope);
  case ExprKind::Int: return Value::integer_(e.as<IntExpr>()->value, e.range);
  case ExprKind::Float: return Value::float_(e.as<FloatExpr>()->value, e.range);
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
      if (ModuleInst *child = object.module->child(attr->name))
        return Value::moduleRef(child, e.range);
      auto it = object.module->constants.find(attr->name);
      if (it != object.module->constants.end())
        return it->second;
    }
    error(attr->nameRange, fmt::format("{} has no attribute '{}'", describe(object), attr->name));
    return Value::invalid();
  }
  case ExprKind::Slice: break;
  }
  error(e.range, "a slice is only allowed inside '[ ]'");
  return Value::invalid();
}

Value Checker::evalName(const NameExpr &name, const Scope &scope) {
  if (const Value *v = scope.lookup(name.name)) {
    Value copy = *v;
    copy.range = name.range;
    return copy;
  }
  for (const Scope *s = &scope; s; s = s->parent)
    if (s->owner) {
      if (ModuleInst *child = s->owner->child(name.name))
        return Value::moduleRef(child, name.range);
      auto it = s->owner->constants.find(name.name);
      if (it != s->owner->constants.end())
        return it->second;
    }
  if (findLayer(name.name) || definitions_.count(name.name)) {
    error(name.range, fmt::format("'{}' is a module; call it to create one, as in '{}(...)'",
                                  name.name, name.name));
    return Value::invalid();
  }
  std::vector<std::string> candidates;
  for (const Scope *s = &scope; s; s = s->parent) {
    for (const auto &[n, v] : s->names)
      candidates.push_back(n);
    if (s->owner)
      for (const auto &[n, c] : s->owner->children)
        candidates.push_back(n);
  }
  Diagnostic &d = error(name.range, fmt::format("unknown name '{}'", name.name));
  if (auto s = suggest(name.name, candidates))
    d.fixes.push_back({fmt::format("did you mean '{}'?", *s), name.range, *s});
  return Value::invalid();
}

Value Checker::evalIndex(const Value &object, const IndexExpr &index, const Scope &scope) {
  if (object.isInvalid())
    return object;
  if (index.index->as<SliceExpr>()) {
    error(index.range, "slices of modules are only supported in forward");
    return Value::invalid();
  }
  Value key = eval(*index.index, scope);
  if (key.isInvalid())
    return key;
  std::vector<Value> items;
  if (object.kind == Value::Kind::Module) {
    if (key.kind == Value::Kind::Str) {
      if (ModuleInst *child = object.module->child(key.str))
        return Value::moduleRef(child, index.range);
      error(index.index->range, fmt::format("{} has no child '{}'", describe(object), key.str));
      return Value::invalid();
    }
    for (auto &[n, c] : object.module->children)
      items.push_back(Value::moduleRef(c, index.range));
  } else if (object.kind == Value::Kind::Tuple || object.kind == Value::Kind::List) {
    items = object.items;
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
  if (iterable.kind != Value::Kind::List && iterable.kind != Value::Kind::Tuple) {
    error(comp.iterable->range, fmt::format("cannot iterate over {}", describe(iterable)));
    return Value::invalid();
  }
  std::vector<Value> items;
  for (const Value &item : iterable.items) {
    Scope inner{&scope, {{comp.var, item}}, nullptr};
    Value v = eval(*comp.element, inner);
    if (v.isInvalid())
      return v;
    items.push_back(std::move(v));
  }
  return Value::list(std::move(items), comp.range);
}

std::vector<EvalArg> Checker::evalArgs(const std::vector<Arg> &args, const Scope &scope) {
  std::vector<EvalArg> out;
  for (const Arg &a : args)
    out.push_back({a.name, a.nameRange, a.value->range, eval(*a.value, scope)});
  return out;
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

Value Checker::evalCall(const CallExpr &call, const Scope &scope) {
  // A method of a container being built: `blocks.append(Block())`.
  std::string callee = calleeName(*call.callee);
  std::vector<EvalArg> args = evalArgs(call.args, scope);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();

  if (callee == "range")
    return evalRange(args, call);
  if (callee == "OrderedDict") {
    if (args.size() != 1 || (args[0].value.kind != Value::Kind::List &&
                             args[0].value.kind != Value::Kind::Tuple)) {
      error(call.range, "OrderedDict() takes one list of ('name', module) pairs");
      return Value::invalid();
    }
    Value pairs = args[0].value;
    pairs.kind = Value::Kind::List;
    pairs.str = "OrderedDict";
    return pairs;
  }
  if (callee == "Sequential" || callee == "SequentialCell" || callee == "ModuleList" ||
      callee == "CellList" || callee == "ModuleDict")
    return buildContainer(callee, args, call);
  if (const LayerSpec *spec = findLayer(callee))
    return buildLayer(*spec, args, call);
  auto def = definitions_.find(callee);
  if (def != definitions_.end()) {
    if (def->second->isModel) {
      error(call.callee->range, fmt::format("'{}' is a model; only modules can be used inside "
                                            "other definitions", callee));
      return Value::invalid();
    }
    return instantiate(*def->second, args, call);
  }
  if (auto *attr = call.callee->as<AttributeExpr>()) {
    if (callee.find('.') == std::string::npos) {
      Value object = eval(*attr->object, scope);
      if (object.isInvalid())
        return object;
      error(attr->nameRange, fmt::format("{} has no method '{}' here", describe(object), attr->name));
      return Value::invalid();
    }
  }
  std::vector<std::string> candidates = layerNames();
  for (const auto &[n, d] : definitions_)
    candidates.push_back(n);
  for (const char *c : {"Sequential", "ModuleList", "ModuleDict"})
    candidates.push_back(c);
  Diagnostic &d = error(call.callee->range, fmt::format("unknown layer or module '{}'", callee));
  if (auto s = suggest(callee, candidates))
    d.fixes.push_back({fmt::format("did you mean '{}'?", *s), call.callee->range, *s});
  return Value::invalid();
}

// ---- Modules ----------------------------------------------------------------------

Value Checker::buildLayer(const LayerSpec &spec, const std::vector<EvalArg> &args,
                          const CallExpr &call) {
  ModuleInst *module = newModule(ModuleInst::Kind::Layer, spec.name, call.range);
  module->layer = &spec;
  if (spec.acceptsAnything) {
    module->args.call = call.range;
    return Value::moduleRef(module, call.range);
  }
  std::optional<BoundArgs> bound = bind(spec.name, spec.params, args, call.range);
  if (!bound)
    return Value::invalid();
  unsigned before = diags_.errorCount();
  if (spec.validate)
    spec.validate(ArgCheck{*bound, diags_});
  if (diags_.errorCount() != before)
    return Value::invalid();
  module->args = std::move(*bound);
  return Value::moduleRef(module, call.range);
}

Value Checker::buildContainer(std::string_view kind, const std::vector<EvalArg> &args,
                              const CallExpr &call) {
  bool isDict = kind == "ModuleDict";
  bool isList = kind == "ModuleList" || kind == "CellList";
  ModuleInst *module = newModule(isDict ? ModuleInst::Kind::ModuleDict
                                 : isList ? ModuleInst::Kind::ModuleList
                                          : ModuleInst::Kind::Sequential,
                                 isDict ? "ModuleDict" : isList ? "ModuleList" : "Sequential",
                                 call.range);
  auto addChild = [&](std::string name, const Value &v, SourceRange range) {
    if (v.kind != Value::Kind::Module) {
      error(range, fmt::format("{} holds modules, but this is {}", module->className, describe(v)));
      return false;
    }
    if (module->child(name)) {
      error(range, fmt::format("{} already has a child named '{}'", module->className, name));
      return false;
    }
    module->children.push_back({std::move(name), v.module});
    return true;
  };
  // Named pairs: OrderedDict([...]) or ModuleDict([...]).
  auto addPairs = [&](const Value &pairs, SourceRange range) {
    for (const Value &pair : pairs.items) {
      if ((pair.kind != Value::Kind::Tuple && pair.kind != Value::Kind::List) ||
          pair.items.size() != 2 || pair.items[0].kind != Value::Kind::Str) {
        error(pair.range.valid() ? pair.range : range, "expected a ('name', module) pair");
        return;
      }
      addChild(pair.items[0].str, pair.items[1], pair.range);
    }
  };

  bool positional = false, named = false;
  for (const EvalArg &a : args) {
    if (!a.name.empty()) {
      if (isList) {
        error(a.nameRange, fmt::format("{} takes its modules as positional arguments", module->className));
        continue;
      }
      named = true;
      addChild(a.name, a.value, a.range);
    } else if (a.value.str == "OrderedDict" || (isDict && a.value.kind == Value::Kind::List)) {
      named = true;
      addPairs(a.value, a.range);
    } else if ((a.value.kind == Value::Kind::List || a.value.kind == Value::Kind::Tuple) &&
               (isList || args.size() == 1 || a.value.items.empty() ||
                a.value.items[0].kind == Value::Kind::Module)) {
      positional = true;
      for (const Value &item : a.value.items)
        addChild(std::to_string(module->children.size()), item, a.range);
    } else if (isDict) {
      error(a.range, "ModuleDict takes named modules: ModuleDict(a = M1, b = M2)");
    } else {
      positional = true;
      addChild(std::to_string(module->children.size()), a.value, a.range);
    }
  }
  if (positional && named)
    error(call.range, fmt::format("{} mixes positional and named children; use one form",
                                  module->className));
  return Value::moduleRef(module, call.range);
}

Value Checker::instantiate(const Definition &def, const std::vector<EvalArg> &args,
                           const CallExpr &call) {
  if (inCycle_.count(&def))
    return Value::invalid();
  std::vector<ParamSpec> params;
  for (const DefParam &p : def.params) {
    std::optional<Value> defaultValue;
    if (p.defaultValue)
      defaultValue = eval(*p.defaultValue, Scope{});
    params.push_back({p.name.c_str(), ArgType::Any, defaultValue});
  }
  std::optional<BoundArgs> bound = bind(def.name, params, args, call.range);
  if (!bound)
    return Value::invalid();
  Scope scope;
  bool ok = true;
  for (size_t i = 0; i < def.params.size(); ++i) {
    if (def.params[i].type.kind == TypeExpr::Kind::Shape) {
      error(def.params[i].type.range, "a module's parameters are constants; its tensor input "
                                      "is the parameter of its forward");
      ok = false;
      continue;
    }
    ok &= convertToType(def.name, def.params[i].type, bound->args[i]);
    scope.names[def.params[i].name] = bound->args[i].value;
  }
  if (!ok)
    return Value::invalid();

  instantiating_.push_back({&def, call.range});
  Value result;
  if (def.expr) {
    result = eval(*def.expr, scope);
    if (result.kind == Value::Kind::Module) {
      result.module->className = def.name;
      result.module->range = call.range;
    } else if (!result.isInvalid()) {
      error(def.expr->range, fmt::format("module '{}' must be a module expression, but this is {}",
                                         def.name, describe(result)));
      result = Value::invalid();
    }
  } else {
    ModuleInst *module = newModule(ModuleInst::Kind::User, def.name, call.range);
    for (const auto &[name, value] : scope.names)
      module->constants[name] = value;
    runBody(module, def.body, scope, def);
    result = Value::moduleRef(module, call.range);
  }
  instantiating_.pop_back();
  return result;
}

void Checker::runBody(ModuleInst *module, const std::vector<StmtPtr> &body, Scope &scope,
                      const Definition &def) {
  scope.owner = module;
  for (const StmtPtr &stmt : body) {
    if (auto *assign = stmt->as<AssignStmt>()) {
      Value v = eval(*assign->value, scope);
      if (v.kind == Value::Kind::Module) {
        auto it = std::find_if(module->children.begin(), module->children.end(),
                               [&](auto &c) { return c.first == assign->target; });
        if (it != module->children.end())
          it->second = v.module; // as Python: reassignment replaces, in place
        else
          module->children.push_back({assign->target, v.module});
      } else {
        module->constants[assign->target] = v; // Invalid keeps later uses silent
      }
    } else if (auto *exprStmt = stmt->as<ExprStmt>()) {
      auto *call = exprStmt->expr->as<CallExpr>();
      auto *method = call ? call->callee->as<AttributeExpr>() : nullptr;
      if (!method) {
        error(stmt->range, "expected a child ('name = Layer(...)'), a container method such as "
                           "'blocks.append(...)', or 'forward'");
        continue;
      }
      Value target = eval(*method->object, scope);
      if (target.isInvalid())
        continue;
      if (target.kind != Value::Kind::Module) {
        error(method->object->range, fmt::format("'{}' is {}, not a container",
                                                 text(method->object->range), describe(target)));
        continue;
      }
      std::vector<EvalArg> args = evalArgs(call->args, scope);
      if (std::none_of(args.begin(), args.end(), [](const EvalArg &a) { return a.value.isInvalid(); }))
        containerMethod(target.module, method->name, args, *call);
    } else if (auto *loop = stmt->as<ForStmt>()) {
      Value iterable = eval(*loop->iterable, scope);
      if (iterable.isInvalid())
        continue;
      if (iterable.kind != Value::Kind::List && iterable.kind != Value::Kind::Tuple) {
        error(loop->iterable->range, fmt::format("cannot iterate over {}", describe(iterable)));
        continue;
      }
      for (const Value &item : iterable.items) {
        Scope inner{&scope, {{loop->var, item}}, module};
        runBody(module, loop->body, inner, def);
      }
    } else if (auto *forward = stmt->as<ForwardStmt>()) {
      if (module->forward) {
        error(stmt->range, fmt::format("'{}' has two forward definitions", def.name))
            .notes.push_back({"the first is here", module->forward->range});
        continue;
      }
      module->forward = forward;
    } else {
      error(stmt->range, "'return' is only allowed inside forward");
    }
  }
  if (scope.parent == nullptr && !module->forward && &body == &def.body)
    error(def.nameRange, fmt::format("'{}' has a body but no forward", def.name));
}

void Checker::containerMethod(ModuleInst *target, const std::string &method,
                              const std::vector<EvalArg> &args, const CallExpr &call) {
  bool sequenceLike = target->kind == ModuleInst::Kind::Sequential ||
                      target->kind == ModuleInst::Kind::ModuleList;
  auto renumber = [&] {
    for (size_t i = 0; i < target->children.size(); ++i)
      target->children[i].first = std::to_string(i);
  };
  auto moduleArg = [&](const EvalArg &a) -> ModuleInst * {
    if (a.value.kind == Value::Kind::Module)
      return a.value.module;
    error(a.range, fmt::format("'{}' takes a module, not {}", method, describe(a.value)));
    return nullptr;
  };
  auto arity = [&](size_t n) {
    if (args.size() == n)
      return true;
    error(call.range, fmt::format("'{}' takes {} argument{}, {} given", method, n, n == 1 ? "" : "s",
                                  args.size()));
    return false;
  };
  if (!sequenceLike && (method == "append" || method == "extend" || method == "insert" || method == "pop")) {
    error(call.callee->range, fmt::format("'{}' is only available on Sequential and ModuleList, "
                                          "not on {}", method, target->className));
    return;
  }
  if (method == "append") {
    if (arity(1))
      if (ModuleInst *m = moduleArg(args[0]))
        target->children.push_back({std::to_string(target->children.size()), m});
  } else if (method == "extend") {
    if (!arity(1))
      return;
    std::vector<Value> items = args[0].value.items;
    if (args[0].value.kind == Value::Kind::Module)
      for (auto &[n, c] : args[0].value.module->children)
        items.push_back(Value::moduleRef(c, args[0].range));
    for (const Value &item : items)
      if (ModuleInst *m = moduleArg({"", {}, args[0].range, item}))
        target->children.push_back({std::to_string(target->children.size()), m});
  } else if (method == "insert" || method == "pop") {
    if (!arity(method == "insert" ? 2 : 1))
      return;
    if (!args[0].value.isConstInt()) {
      error(args[0].range, fmt::format("'{}' takes an integer index", method));
      return;
    }
    int64_t n = int64_t(target->children.size()), i = args[0].value.asInt();
    if (method == "insert") {
      i = std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
      if (ModuleInst *m = moduleArg(args[1]))
        target->children.insert(target->children.begin() + i, {"", m});
    } else {
      if (i < -n || i >= n) {
        error(args[0].range, fmt::format("pop index {} is out of range for {} children", i, n));
        return;
      }
      target->children.erase(target->children.begin() + (i < 0 ? i + n : i));
    }
    renumber();
  } else if (method == "add_module" || method == "register_module") {
    if (arity(2) && args[0].value.kind == Value::Kind::Str)
      if (ModuleInst *m = moduleArg(args[1]))
        target->children.push_back({args[0].value.str, m});
  } else {
    error(call.callee->range, fmt::format("{} has no method '{}'", target->className, method));
  }
}

// ---- Helpers --------------------------------------------------------------------------

Diagnostic &Checker::error(std::optional<SourceRange> range, std::string message) {
  Diagnostic &d = diags_.error(range, std::move(message));
  for (auto it = instantiating_.rbegin(); it != instantiating_.rend(); ++it)
    d.notes.push_back({fmt::format("in '{}' instantiated here", it->first->name), it->second});
  return d;
}

std::string Checker::text(SourceRange range) const {
  return collapseWhitespace(sources_.text(range));
}

std::string Checker::collapseWhitespace(std::string_view source) {
  std::string out;
  bool space = false;
  for (char c : source) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space && out.back() != '(' && out.back() != '[' && c != ')' && c != ']')
      out += ' ';
    space = false;
    out += c;
  }
  // A trailing comma before ')' is noise in a message.
  for (size_t at; (at = out.find(", )")) != std::string::npos || (at = out.find(",)")) != std::string::npos;)
    out.erase(at, out[at + 1] == ' ' ? 2 : 1);
  return out;
}

std::string Checker::displayOf(const std::string &source) {
  std::string s = collapseWhitespace(source);
  for (const char *prefix : {"torch.nn.", "nn.", "F.", "torch."})
    if (s.rfind(prefix, 0) == 0)
      s = s.substr(std::string(prefix).size());
  constexpr size_t kMax = 40;
  if (s.size() <= kMax)
    return s;
  size_t paren = s.find('(');
  if (paren == std::string::npos || paren > kMax)
    return s.substr(0, kMax) + "...";
  // Keep the leading positional arguments: "Conv2d(32, 64, ...)".
  std::string out = s.substr(0, paren + 1);
  size_t depth = 0, start = paren + 1;
  for (size_t i = paren + 1; i < s.size() && out.size() < kMax; ++i) {
    char c = s[i];
    if (c == '(' || c == '[')
      ++depth;
    else if ((c == ')' || c == ']') && depth > 0)
      --depth;
    else if (c == ',' && depth == 0) {
      std::string arg = s.substr(start, i - start);
      if (arg.find('=') != std::string::npos)
        break;
      out += (out.back() == '(' ? "" : ", ") + std::string(arg.find_first_not_of(' ') == 0 ? arg : arg.substr(1));
      start = i + 1;
    }
  }
  return out + (out.back() == '(' ? "...)" : ", ...)");
}

std::string Checker::calleeName(const Expr &callee) {
  std::string name;
  for (const Expr *e = &callee; e;) {
    if (auto *n = e->as<NameExpr>()) {
      name = n->name + (name.empty() ? "" : "." + name);
      break;
    }
    if (auto *a = e->as<AttributeExpr>()) {
      name = a->name + (name.empty() ? "" : "." + name);
      e = a->object.get();
      continue;
    }
    return "";
  }
  for (const char *prefix : {"torch.nn.functional.", "nn.functional.", "torch.nn.", "mindspore.nn.",
                             "ms.nn.", "nn.", "collections.", "F.", "torch."})
    if (name.rfind(prefix, 0) == 0)
      return name.substr(std::string(prefix).size());
  return name;
}

static size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same = std::tolower(a[i - 1]) == std::tolower(b[j - 1]);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> Checker::suggest(const std::string &name,
                                            const std::vector<std::string> &candidates) {
  std::optional<std::string> best;
  size_t bestDistance = std::max<size_t>(1, name.size() / 3) + 1;
  for (const std::string &c : candidates) {
    if (c == name)
      continue;
    size_t d = editDistance(name, c);
    if (c.rfind(name, 0) == 0 || name.rfind(c, 0) == 0)
      d = std::min<size_t>(d, 1);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

} // namespace seq::sema

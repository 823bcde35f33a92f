// Resolve: definitions, cycles between modules, models and their inputs,
// and the evaluation of expressions at construction time (constants,
// tuples, comprehensions, calls that build modules).
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
    if (s->vars) {
      auto var = s->vars->find(name);
      if (var != s->vars->end())
        return &var->second;
    }
  }
  return nullptr;
}

// Calls `fn` on each direct subexpression of `e`.
static void forEachSubexpr(const Expr &e, const std::function<void(const Expr &)> &fn) {
  auto each = [&](const std::vector<ExprPtr> &xs) {
    for (const ExprPtr &x : xs)
      fn(*x);
  };
  switch (e.kind) {
  case ExprKind::Unary: fn(*e.as<UnaryExpr>()->operand); break;
  case ExprKind::Binary: fn(*e.as<BinaryExpr>()->lhs); fn(*e.as<BinaryExpr>()->rhs); break;
  case ExprKind::Call:
    fn(*e.as<CallExpr>()->callee);
    for (const Arg &a : e.as<CallExpr>()->args)
      fn(*a.value());
    break;
  case ExprKind::Attribute: fn(*e.as<AttributeExpr>()->object); break;
  case ExprKind::Index: fn(*e.as<IndexExpr>()->object); fn(*e.as<IndexExpr>()->index); break;
  case ExprKind::Tuple: each(e.as<TupleExpr>()->elements); break;
  case ExprKind::List: each(e.as<ListExpr>()->elements); break;
  case ExprKind::Comprehension:
    fn(*e.as<ComprehensionExpr>()->element);
    fn(*e.as<ComprehensionExpr>()->iterable);
    break;
  case ExprKind::Compare: each(e.as<CompareExpr>()->operands); break;
  case ExprKind::Not: fn(*e.as<NotExpr>()->operand); break;
  case ExprKind::BoolOp: fn(*e.as<BoolOpExpr>()->lhs); fn(*e.as<BoolOpExpr>()->rhs); break;
  case ExprKind::Ternary:
    fn(*e.as<TernaryExpr>()->then);
    fn(*e.as<TernaryExpr>()->cond);
    fn(*e.as<TernaryExpr>()->otherwise);
    break;
  case ExprKind::Star: fn(*e.as<StarExpr>()->operand); break;
  default: break;
  }
}

std::vector<std::unique_ptr<CheckedModel>> check(const File &file, const SourceManager &sources,
                                                 Diagnostics &diags, CheckOptions options) {
  return Checker(file, sources, diags, options).run();
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
    }
    forEachSubexpr(e, [&](const Expr &x) { scanExpr(x, owner); });
  };
  scanStmt = [&](const Stmt &s, const Definition &owner) {
    if (auto *a = s.as<AssignStmt>())
      scanExpr(*a->value, owner);
    else if (auto *x = s.as<ExprStmt>())
      scanExpr(*x->expr, owner);
    else if (auto *r = s.as<ReturnStmt>())
      scanExpr(*r->value, owner);
    else if (auto *f = s.as<ForStmt>())
      for (const StmtPtr &b : f->body)
        scanStmt(*b, owner);
    else if (auto *i = s.as<IfStmt>()) {
      scanExpr(*i->cond, owner);
      for (const StmtPtr &b : i->then)
        scanStmt(*b, owner);
      for (const StmtPtr &b : i->orElse)
        scanStmt(*b, owner);
    } else if (auto *fw = s.as<ForwardStmt>()) {
      for (const StmtPtr &b : fw->body)
        scanStmt(*b, owner);
    }
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
        reportCycle({std::find(stack.begin(), stack.end(), target), stack.end()}, range);
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

// Reports a cycle, `cycle` running from the definition used again to the
// one whose use (`use`) closes it, and marks its definitions.
void Checker::reportCycle(const std::vector<const Definition *> &cycle, SourceRange use) {
  const Definition *target = cycle.front();
  std::string path;
  for (const Definition *d : cycle) {
    path += d->name + " -> ";
    inCycle_.insert(d);
  }
  path += target->name;
  Diagnostic &diag = error(use, cycle.size() == 1
      ? fmt::format("module '{}' uses itself", target->name)
      : fmt::format("modules use each other in a cycle: {}", path));
  diag.notes.push_back({fmt::format("'{}' is defined here", target->name), target->nameRange});
}

// A definition used while it is being built: a cycle that reportCycles
// does not see in the names of callees, made through a value
// (`partial(A)(c)`, a `module` parameter whose default is the module
// itself). Reported at the call that closes it, once: every definition of
// the cycle then gives an invalid value.
bool Checker::closesCycle(const Definition &def, const CallExpr &call) {
  auto from = std::find(building_.begin(), building_.end(), &def);
  if (from == building_.end())
    return false;
  reportCycle({from, building_.end()}, call.callee->range);
  return true;
}

// ---- Models -------------------------------------------------------------------------

std::unique_ptr<CheckedModel> Checker::checkModel(const Definition &def) {
  auto model = std::make_unique<CheckedModel>();
  model->name = def.name;
  model->definition = &def;
  model_ = model.get();
  unsigned errorsBefore = diags_.errorEvents();

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
      root.module()->setClassName(def.name);
    } else if (!root.isInvalid()) {
      error(def.expr->range, fmt::format("a model must be a module, but this is {}", describe(root)));
      root = Value::invalid();
    }
    if (def.params.size() != 1 && root.kind == Value::Kind::Module)
      error(def.nameRange, fmt::format("model '{}' has {} inputs; a model defined with '=' takes "
                                       "exactly one (use a body with a forward for more)",
                                       def.name, def.params.size()));
  } else {
    ModuleInst *module = newModule(ModuleInst::Kind::User, def.name.c_str(), def.nameRange);
    root = runBody(module, def.body, scope, def) ? Value::moduleRef(module) : Value::invalid();
  }

  if (root.kind == Value::Kind::Module) {
    model->root = root.module();
    assignPaths(model->root, "");
    checkParameterBytes(def, *model->root);
    bool inputsOk = diags_.errorEvents() == errorsBefore;
    if (inputsOk || !model->inputs.empty()) {
      std::vector<int> inputs;
      for (const ModelInput &in : model->inputs)
        inputs.push_back(newValue(in.shape, fmt::format("input '{}' is {}", in.name, shapeStr(in.shape, in.batchName.empty() ? "N" : in.batchName)), in.range));
      model->trace.inputs = inputs;
      if (model->inputs.size() == def.params.size())
        model->trace.output = traceForward(model->root, inputs, SourceRange{def.nameRange.file, 0, 0});
      if (model->trace.output >= 0 && tv(model->trace.output).valid && !inputs.empty())
        model->root->output = model->trace.output;
    }
  }
  model->valid = model->root && diags_.errorEvents() == errorsBefore && model->trace.output >= 0 &&
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
      if (i == 0 && name && !definitions_.count(std::string(name->name()))) {
        if (!batchName.empty() && batchName != name->name())
          error(dim.range, fmt::format("all inputs must share one batch dimension, but this one is "
                                       "'{}' and an earlier one is '{}'", name->name(), batchName));
        batchName = input.batchName = name->name();
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
        input.shape.push_back(v.integer());
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

// Gives every module its path from the model ("layer1.0"); a module that
// two containers share keeps the first.
void Checker::assignPaths(ModuleInst *module, const std::string &path) {
  module->setPath(model_->text.copy(path));
  for (auto &[name, child] : module->children())
    if (child->path().empty() && child != model_->root)
      assignPaths(child, path.empty() ? name.str() : path + "." + name);
}

// The whole model's parameters against the limit (each layer's is checked
// when it is built).
// Adds the bytes of the parameters of `m` and its children (the entries of
// its state_dict, which is not built: a deep model's would be the largest
// structure of its check).
static void addParameterBytes(const ModuleInst &m, int64_t &total) {
  if (m.kind == ModuleInst::Kind::Layer && m.layer->parameters)
    for (const LayerParam &p : m.layer->parameters(m.args)) {
      int64_t bytes = 4;
      for (int64_t d : p.shape)
        __builtin_mul_overflow(bytes, d, &bytes);
      if (__builtin_add_overflow(total, bytes, &total))
        total = INT64_MAX;
    }
  for (const auto &[name, child] : m.children())
    addParameterBytes(*child, total);
}

void Checker::checkParameterBytes(const Definition &def, const ModuleInst &root) {
  int64_t total = 0;
  addParameterBytes(root, total);
  if (total > limits::kParameterBytes)
    error(def.nameRange, fmt::format("model '{}' has {:.1f} GiB of parameters; seqc's limit is {} GiB",
                                     def.name, double(total) / (1 << 30), limits::kParameterBytes >> 30));
}

void Checker::limitReached(SourceRange range, std::string message) {
  if (!overLimit_)
    error(range, std::move(message));
  overLimit_ = true;
}

ModuleInst *Checker::newModule(ModuleInst::Kind kind, const char *className, SourceRange range) {
  if (++modulesBuilt_ > limits::kModuleInstances)
    limitReached(range, fmt::format("more than {} module instances are built here, seqc's limit "
                                    "(a comprehension multiplies the modules it builds)",
                                    limits::kModuleInstances));
  ModuleInst &module = model_->arena.emplace_back();
  module.kind = kind;
  if (kind != ModuleInst::Kind::Layer) // a layer's is its LayerSpec's, set next
    module.setClassName(className);
  module.args.call = range; // its range()
  return &module;
}

// ---- Expressions at construction time -----------------------------------------------

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

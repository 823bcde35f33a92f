// Resolve: definitions, cycles between modules, models and their inputs
// (the evaluation of expressions at construction time is Eval.cpp's).
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

} // namespace seq::sema

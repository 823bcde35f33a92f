// Body: the statements of a module body or a helper, run at construction
// time as nn.Module.__init__ runs: children registered in the order their
// assignments run, constants bound and rebound, `if` decided (a child
// assigned only in the branch not taken does not exist), loops unrolled,
// container methods and add_module, unpacking, and a helper's `return`.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

namespace seq::sema {

using namespace seq::ast;

bool Checker::runBody(ModuleInst *module, const std::vector<StmtPtr> &body, Scope &scope,
                      const Definition &def) {
  scope.owner = module;
  scope.vars = &module->mutableConstants();
  BodyState state;
  state.module = module;
  state.def = &def;
  execBody(body, scope, state);
  if (!module->forward())
    error(def.nameRange, fmt::format("'{}' has a body but no forward", def.name));
  return !containsItself(module, def);
}

// `back = Back(self)` where Back registers its argument, or
// `Sequential(..., self)`: the module is among its own descendants, and
// everything that walks the tree (paths, parameters, print) would never
// end. Reported at the child that holds it. Only a module whose body runs
// can be passed on before it is complete, as `self`.
bool Checker::containsItself(const ModuleInst *module, const Definition &def) {
  std::unordered_set<const ModuleInst *> seen;
  std::vector<const ModuleInst *> stack;
  for (const auto &[name, child] : module->children()) {
    stack.assign(1, child);
    while (!stack.empty()) {
      const ModuleInst *m = stack.back();
      stack.pop_back();
      if (m == module) {
        error(child->range(), fmt::format("'{}' would contain itself: its child '{}' holds it",
                                          def.name, name));
        return true;
      }
      if (seen.insert(m).second)
        for (const auto &[n, c] : m->children())
          stack.push_back(c);
    }
  }
  return false;
}

void Checker::execBody(const std::vector<StmtPtr> &body, Scope &scope, BodyState &state) {
  for (const StmtPtr &stmt : body) {
    if (state.returned)
      return;
    execBodyStmt(*stmt, scope, state);
  }
}

// Binds a name in a body: a module becomes a child (keeping the first
// place of a name assigned twice, as PyTorch's __setattr__ does); anything
// else is a constant. In a helper, everything is a local.
void Checker::assignBody(const std::string &name, SourceRange range, Value v, Scope &scope,
                         BodyState &state) {
  ModuleInst *module = state.module;
  if (!module) {
    (*scope.vars)[name] = std::move(v);
    return;
  }
  if (v.kind == Value::Kind::Module) {
    if (v.module() == module) {
      error(range, "a module cannot be its own child");
      return;
    }
    auto &children = module->mutableChildren();
    auto it = std::find_if(children.begin(), children.end(), [&](auto &c) { return c.first == name; });
    if (it != children.end())
      it->second = v.module();
    else
      children.push_back({name, v.module()});
    module->mutableAbsent().erase(name);
    module->mutableConstants().erase(name);
    return;
  }
  if (module->child(name) && v.kind == Value::Kind::None) {
    // PyTorch keeps None in _modules; seqc drops the child.
    auto &children = module->mutableChildren();
    children.erase(std::find_if(children.begin(), children.end(), [&](auto &c) { return c.first == name; }));
  }
  if (v.kind == Value::Kind::None && !v.origin().valid())
    v.setOrigin(range, fmt::format("'{}' is None: assigned here", name));
  module->mutableConstants()[name] = std::move(v); // Invalid keeps later uses silent
}

// After an error in a condition or an iterable (reported), the names its
// blocks would have bound (a child that exists keeps its place) hold an
// invalid value, so that their uses stay silent: `width` set in both
// branches of an `if` whose condition failed is not an unknown name.
void Checker::invalidateBody(std::initializer_list<const std::vector<StmtPtr> *> blocks,
                             Scope &scope, BodyState &state) {
  std::map<std::string, Value> invalid;
  invalidateAssigned(blocks, invalid);
  for (auto &[name, value] : invalid)
    if (!state.module || !state.module->child(name))
      assignBody(name, {}, std::move(value), scope, state);
}

// Names assigned in a branch not taken: children this instantiation does
// not create. `NAME is None` is true for them in forward.
void Checker::markAbsent(ModuleInst *module, const std::vector<StmtPtr> &skipped, SourceRange cond) {
  if (!module)
    return;
  for (const StmtPtr &s : skipped) {
    if (auto *a = s->as<AssignStmt>()) {
      if (!a->target.empty() && !module->child(a->target) && !module->constants().count(a->target))
        module->mutableAbsent().emplace(a->target, cond);
    } else if (auto *i = s->as<IfStmt>()) {
      markAbsent(module, i->then, cond);
      markAbsent(module, i->orElse, cond);
    } else if (auto *f = s->as<ForStmt>()) {
      markAbsent(module, f->body, cond);
    }
  }
}

// Binds `item` to `targets`, a group unpacking it (nested groups recurse).
static bool bindTargets(Checker &checker, const std::vector<AssignTarget> &targets, const Value &item,
                        SourceRange range, const std::function<void(const std::string &, Value)> &store) {
  if ((item.kind != Value::Kind::Tuple && item.kind != Value::Kind::List) ||
      item.items().size() != targets.size()) {
    checker.error(range, fmt::format("cannot unpack {} into {} loop variables",
                                     item.kind == Value::Kind::Tuple || item.kind == Value::Kind::List
                                         ? fmt::format("{} values", item.items().size())
                                         : describe(item),
                                     targets.size()));
    return false;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].nested.empty())
      store(targets[i].name, item.items()[i]);
    else if (!bindTargets(checker, targets[i].nested, item.items()[i], targets[i].range, store))
      return false;
  }
  return true;
}

bool Checker::bindLoopVars(const ForStmt &loop, const Value &item,
                           const std::function<void(const std::string &, Value)> &store) {
  if (loop.unpack.empty()) {
    store(loop.var, item);
    return true;
  }
  return bindTargets(*this, loop.unpack, item, loop.varRange, store);
}

bool Checker::unpackInto(const AssignStmt &assign, const Value &v,
                         const std::function<void(const AssignTarget &, Value)> &store) {
  if (v.isInvalid()) {
    for (const AssignTarget &t : assign.unpack)
      store(t, Value::invalid());
    return false;
  }
  size_t want = assign.unpack.size();
  if (v.kind != Value::Kind::Tuple && v.kind != Value::Kind::List) {
    error(assign.value->range, fmt::format("cannot unpack {} into {} names: unpacking takes a "
                                           "tuple or list, such as x.chunk(2, dim=1) or x.size()",
                                           describe(v), want));
    for (const AssignTarget &t : assign.unpack)
      store(t, Value::invalid());
    return false;
  }
  if (v.items().size() != want) {
    error(assign.targetRange, fmt::format("{} values to unpack into {} names", v.items().size(), want))
        .notes.push_back({fmt::format("this gives {} value{}", v.items().size(),
                                      v.items().size() == 1 ? "" : "s"),
                          assign.value->range});
    for (const AssignTarget &t : assign.unpack)
      store(t, Value::invalid());
    return false;
  }
  for (size_t i = 0; i < want; ++i)
    store(assign.unpack[i], v.items()[i]);
  return true;
}

// `self.fc = Linear(...)` pasted from PyTorch: the .seq form drops `self.`.
void Checker::reportTargetExpr(const AssignStmt &assign, bool inForward) {
  const Expr &target = *assign.targetExpr;
  auto *attr = target.as<AttributeExpr>();
  auto *self = attr ? attr->object->as<NameExpr>() : nullptr;
  if (self && self->name() == "self" && !inForward) {
    Diagnostic &d = error(target.range, "a body assigns children by name, without 'self.'");
    d.fixes.push_back({fmt::format("write '{} = {}'", attr->name, displayOf(text(assign.value->range))),
                       target.range, attr->name});
    return;
  }
  error(target.range, inForward ? "forward assigns only to local names ('x = ...')"
                                : "only a name can be assigned here ('name = ...')");
}

// `setattr(self, name, M)` pasted from PyTorch (ShuffleNetV2 names its
// stages so): an error whose help is add_module, or a plain assignment for
// a value that is not a module. The body goes on as if so written, so that
// forward's uses of the child are not errors too.
void Checker::setattrStmt(const CallExpr &call, Scope &scope, BodyState &state) {
  const char *message = "setattr() is Python that .seq does not have; a body registers a child "
                        "with add_module(name, module)";
  std::vector<EvalArg> args = evalArgs(call.args, scope);
  bool positional = std::all_of(args.begin(), args.end(), [](const EvalArg &a) { return a.name.empty(); });
  if (args.size() != 3 || !positional) {
    error(call.range, message);
    return;
  }
  if (std::any_of(args.begin(), args.end(), [](const EvalArg &a) { return a.value.isInvalid(); }))
    return;
  const EvalArg &object = args[0], &name = args[1], &value = args[2];
  std::string owner = text(object.range) == "self" ? "" : text(object.range) + ".";
  bool isModule = value.value.kind == Value::Kind::Module;
  bool named = name.value.kind == Value::Kind::Str;
  auto written = [&](std::string v) {
    return isModule || !named ? fmt::format("{}add_module({}, {})", owner, text(name.range), v)
                              : fmt::format("{} = {}", name.value.str(), v);
  };
  Diagnostic &d = error(call.range, message);
  d.fixes.push_back({fmt::format("write '{}'", written(displayOf(text(value.range)))), call.range,
                     written(text(value.range))});
  if (object.value.kind != Value::Kind::Module)
    return;
  if (isModule || !named)
    containerMethod(object.value.module(), "add_module", {name, value}, call);
  else if (owner.empty())
    assignBody(name.value.str(), name.range, value.value, scope, state);
}

void Checker::bodyExprStmt(const ExprStmt &stmt, Scope &scope, BodyState &state) {
  auto *call = stmt.expr->as<CallExpr>();
  auto *method = call ? call->callee->as<AttributeExpr>() : nullptr;
  auto *bare = call ? call->callee->as<NameExpr>() : nullptr;
  if (bare && state.module && bare->name() == "setattr") {
    setattrStmt(*call, scope, state);
    return;
  }
  if (bare && state.module && (bare->name() == "add_module" || bare->name() == "register_module")) {
    std::vector<EvalArg> args = evalArgs(call->args, scope);
    if (std::none_of(args.begin(), args.end(), [](const EvalArg &a) { return a.value.isInvalid(); }))
      containerMethod(state.module, std::string(bare->name()), args, *call);
    return;
  }
  if (!method) {
    if (call && !state.module) {
      eval(*call, scope); // a helper may call for effect (an error, if anything)
      return;
    }
    error(stmt.range, "expected a child ('name = Layer(...)'), a container method such as "
                      "'blocks.append(...)', or 'forward'");
    return;
  }
  // A list constant: `layers.append(M)`, `layers.extend([...])`.
  if (auto *name = method->object->as<NameExpr>()) {
    Value *var = nullptr;
    if (scope.vars) {
      auto it = scope.vars->find(std::string(name->name()));
      if (it != scope.vars->end())
        var = &it->second;
    }
    if (var && var->kind == Value::Kind::List) {
      std::vector<EvalArg> args = evalArgs(call->args, scope);
      if (std::any_of(args.begin(), args.end(), [](const EvalArg &a) { return a.value.isInvalid(); })) {
        *var = Value::invalid(); // the list is incomplete: what is built from it stays silent
        return;
      }
      if (method->name == "append" && args.size() == 1) {
        var->mutableItems().push_back(args[0].value);
      } else if (method->name == "extend" && args.size() == 1 &&
                 (args[0].value.kind == Value::Kind::List || args[0].value.kind == Value::Kind::Tuple)) {
        const std::vector<Value> &more = args[0].value.items();
        var->mutableItems().insert(var->items().end(), more.begin(), more.end());
      } else if (method->name == "insert" && args.size() == 2 && args[0].value.isConstInt()) {
        int64_t n = int64_t(var->items().size()), i = args[0].value.asInt();
        i = std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
        var->mutableItems().insert(var->items().begin() + i, args[1].value);
      } else {
        error(method->nameRange, fmt::format("lists support append(x), extend(list) and "
                                             "insert(i, x) here, not this call of '{}'", method->name));
      }
      return;
    }
  }
  Value target = eval(*method->object, scope);
  if (target.isInvalid())
    return;
  if (target.kind != Value::Kind::Module) {
    error(method->object->range, fmt::format("'{}' is {}, not a container",
                                             text(method->object->range), describe(target)));
    return;
  }
  std::vector<EvalArg> args = evalArgs(call->args, scope);
  if (std::none_of(args.begin(), args.end(), [](const EvalArg &a) { return a.value.isInvalid(); }))
    containerMethod(target.module(), method->name, args, *call);
}

void Checker::execBodyStmt(const Stmt &stmt, Scope &scope, BodyState &state) {
  if (auto *assign = stmt.as<AssignStmt>()) {
    Value v = eval(*assign->value, scope);
    if (assign->isUnpack()) {
      unpackInto(*assign, v, [&](const AssignTarget &t, Value item) {
        if (!t.name.empty())
          assignBody(t.name, t.range, std::move(item), scope, state);
      });
      return;
    }
    std::string name = assign->target;
    if (assign->targetExpr) {
      reportTargetExpr(*assign, false);
      auto *attr = assign->targetExpr->as<AttributeExpr>();
      if (!attr)
        return;
      name = attr->name; // go on as if written without `self.`
    }
    if (assign->augOp) {
      auto current = NameExpr::make(assign->targetRange, name);
      v = arithmetic(*assign->augOp, eval(*current, scope), v, assign->range);
    }
    assignBody(name, assign->targetRange, std::move(v), scope, state);
  } else if (auto *exprStmt = stmt.as<ExprStmt>()) {
    bodyExprStmt(*exprStmt, scope, state);
  } else if (auto *loop = stmt.as<ForStmt>()) {
    Value iterable = eval(*loop->iterable, scope);
    if (iterable.isInvalid()) {
      invalidateBody({&loop->body}, scope, state);
      return;
    }
    std::vector<Value> items = iterable.items();
    if (iterable.kind == Value::Kind::Module && iterable.module()->isContainer()) {
      items.clear();
      for (auto &[n, c] : iterable.module()->children())
        items.push_back(Value::moduleRef(c, loop->iterable->range));
    } else if (iterable.kind != Value::Kind::List && iterable.kind != Value::Kind::Tuple) {
      error(loop->iterable->range, fmt::format("cannot iterate over {}", describe(iterable)));
      invalidateBody({&loop->body}, scope, state);
      return;
    }
    for (const Value &item : items) {
      // A loop variable is a variable, as in Python.
      if (!bindLoopVars(*loop, item, [&](const std::string &n, Value v) { (*scope.vars)[n] = std::move(v); }))
        return;
      execBody(loop->body, scope, state);
      if (state.returned)
        return;
    }
  } else if (auto *branch = stmt.as<IfStmt>()) {
    std::optional<bool> taken = truth(eval(*branch->cond, scope), branch->cond->range);
    if (!taken) {
      invalidateBody({&branch->then, &branch->orElse}, scope, state);
      return;
    }
    execBody(*taken ? branch->then : branch->orElse, scope, state);
    markAbsent(state.module, *taken ? branch->orElse : branch->then, branch->cond->range);
  } else if (auto *forward = stmt.as<ForwardStmt>()) {
    if (!state.module) {
      error(stmt.range, "a helper has no forward; a 'def' with tensors is itself inlined in forward");
      return;
    }
    if (state.module->forward()) {
      error(stmt.range, fmt::format("'{}' has two forward definitions", state.def->name))
          .notes.push_back({"the first is here", state.module->forward()->range});
      return;
    }
    state.module->setForward(forward);
  } else if (auto *ret = stmt.as<ReturnStmt>()) {
    if (state.module) {
      error(stmt.range, "'return' is only allowed inside forward and helpers");
      return;
    }
    state.returned = eval(*ret->value, scope);
  }
}

} // namespace seq::sema

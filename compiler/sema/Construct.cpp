// Construct: building modules as nn.Module.__init__ would: built-in
// layers (arguments bound and validated), containers (positional, named,
// OrderedDict, comprehensions), user modules (parameters bound, bodies
// run, container methods such as append and insert).
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace seq::sema {

using namespace seq::ast;

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
    spec.validate(ArgCheck{*bound, [this](SourceRange r, std::string m) { error(r, std::move(m)); }});
  if (diags_.errorCount() != before)
    return Value::invalid();
  // Parameters whose size in bytes does not fit in 64 bits, or beyond the limit.
  if (spec.parameters) {
    int64_t total = 0;
    for (const LayerParam &p : spec.parameters(*bound)) {
      int64_t bytes = 4;
      bool fits = true;
      for (int64_t d : p.shape)
        fits = fits && !__builtin_mul_overflow(bytes, d, &bytes);
      std::string dims;
      for (int64_t d : p.shape)
        dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      if (!fits) {
        error(call.range, fmt::format("the {} of {} would have shape [{}], more than fits in 64 bits",
                                      p.name, display(call.range), dims));
        return Value::invalid();
      }
      if (__builtin_add_overflow(total, bytes, &total) || total > limits::kParameterBytes) {
        error(call.range, fmt::format("{} would have more than {} GiB of parameters (its {} is [{}]), "
                                      "seqc's limit", display(call.range), limits::kParameterBytes >> 30,
                                      p.name, dims));
        return Value::invalid();
      }
    }
  }
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
  std::set<std::string> names;
  bool positional = false, named = false;
  auto addChild = [&](std::string name, const Value &v, SourceRange range) {
    if (v.kind != Value::Kind::Module) {
      error(range, fmt::format("{} holds modules, but this is {}", module->className, describe(v)));
      return false;
    }
    // Positional children are numbered, so only named ones can clash.
    if (named && !names.insert(name).second) {
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
    module->definition = &def;
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

} // namespace seq::sema

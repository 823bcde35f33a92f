// Callables: layers and modules as values (`norm_layer=BatchNorm2d`),
// partial(...) of them, calling None (a located error with a note at the
// argument that gave it), and `def` helpers, run at construction time or
// inlined into a forward pass.
#include "sema/Checker.h"

#include <fmt/format.h>

namespace seq::sema {

using namespace seq::ast;

// Calls a layer, container, module or helper held as a value. A partial's
// arguments come first; a keyword given again at the call wins.
Value Checker::construct(const Value &callable, std::vector<EvalArg> args, const CallExpr &call) {
  std::vector<EvalArg> merged;
  for (size_t i = 0; i < callable.items().size(); ++i)
    if (callable.keys()[i].empty())
      merged.push_back({"", {}, callable.items()[i].range, callable.items()[i]});
  for (const EvalArg &a : args)
    if (a.name.empty())
      merged.push_back(a);
  for (size_t i = 0; i < callable.items().size(); ++i) {
    const std::string &key = callable.keys()[i];
    if (key.empty())
      continue;
    bool overridden = std::any_of(args.begin(), args.end(), [&](const EvalArg &a) { return a.name == key; });
    if (!overridden)
      merged.push_back({key, callable.items()[i].range, callable.items()[i].range, callable.items()[i]});
  }
  for (const EvalArg &a : args)
    if (!a.name.empty())
      merged.push_back(a);

  const std::string &name = callable.str();
  if (name == "Sequential" || name == "SequentialCell" || name == "ModuleList" ||
      name == "CellList" || name == "ModuleDict")
    return buildContainer(name, merged, call);
  if (const LayerSpec *spec = findLayer(name))
    return buildLayer(*spec, merged, call);
  auto def = definitions_.find(name);
  if (def == definitions_.end())
    return Value::invalid();
  if (def->second->isDef)
    return callHelper(*def->second, merged, call);
  return instantiate(*def->second, merged, call);
}

Value Checker::callNone(const Value &none, const CallExpr &call) {
  bool absent = none.originNote().find("was not created") != std::string::npos;
  Diagnostic &d = error(call.callee->range,
                        absent ? fmt::format("'{}' is used, but this instantiation did not create it",
                                             text(call.callee->range))
                               : fmt::format("'{}' is None here and cannot be called",
                                             text(call.callee->range)));
  if (none.origin().valid())
    d.notes.push_back({none.originNote().empty() ? "None was given here" : none.originNote(), none.origin()});
  d.fixes.push_back({fmt::format("test it first: 'if {} is not None {{ ... }}'", text(call.callee->range)),
                     std::nullopt, ""});
  return Value::invalid();
}

Value Checker::makePartial(const std::vector<EvalArg> &args, const CallExpr &call) {
  if (args.empty() || !args[0].name.empty() || args[0].value.kind != Value::Kind::Callable) {
    error(args.empty() ? call.range : args[0].range,
          "partial() takes a layer or module first, as in 'partial(BatchNorm2d, eps=0.001)'");
    return Value::invalid();
  }
  Value result = args[0].value;
  result.range = call.range;
  for (size_t i = 1; i < args.size(); ++i) {
    result.mutableItems().push_back(args[i].value);
    result.mutableKeys().emplace_back(args[i].name);
  }
  return result;
}

// Checks a definition's parameters once, where they are declared, the
// first time it is used: a tensor shape as a module's parameter type, a
// default of the wrong type (reported at the default, not at each call
// that leaves it out). `params` hold the evaluated defaults. Gives each
// parameter's ParamFlaw.
const std::vector<Checker::ParamFlaw> &Checker::checkParams(const Definition &def,
                                                            const std::vector<ParamSpec> &params) {
  auto [known, first] = paramFlaws_.emplace(&def, std::vector<ParamFlaw>(def.params.size()));
  if (!first)
    return known->second;
  // The definition's errors, whoever uses it: without notes of where.
  std::vector<std::pair<const Definition *, SourceRange>> users;
  std::swap(users, instantiating_);
  for (size_t i = 0; i < def.params.size(); ++i) {
    const DefParam &p = def.params[i];
    if (p.type.kind == TypeExpr::Kind::Shape && !def.isDef && p.type.dims.size() != 1) {
      error(p.type.range, "a module's parameters are constants; its tensor input is the parameter "
                          "of its forward");
      known->second[i] = ParamFlaw::Type;
      continue;
    }
    const std::optional<Value> &value = params[i].defaultValue;
    if (!value || value->isInvalid() || value->kind == Value::Kind::None ||
        p.type.kind == TypeExpr::Kind::None)
      continue;
    BoundArg arg(p.name, *value, false, p.defaultValue->range);
    if (!convertToType(def.name, p.type, arg, /*isDefault=*/true))
      known->second[i] = ParamFlaw::Default;
  }
  std::swap(users, instantiating_);
  return known->second;
}

// Binds a module's or helper's parameters, checks their types, and gives a
// None default the default's place (for the note of a later call of it).
std::optional<BoundArgs> Checker::bindDefinition(const Definition &def, const std::vector<EvalArg> &args,
                                                 const CallExpr &call) {
  std::vector<ParamSpec> params;
  for (const DefParam &p : def.params) {
    std::optional<Value> defaultValue;
    if (p.defaultValue) {
      // Evaluated once per definition, so that an error in it is reported once.
      // A module default is built anew each time (it would be shared otherwise).
      auto cached = defaults_.find(p.defaultValue.get());
      if (cached != defaults_.end()) {
        defaultValue = cached->second;
      } else {
        defaultValue = eval(*p.defaultValue, Scope{});
        if (defaultValue->kind != Value::Kind::Module)
          defaults_.emplace(p.defaultValue.get(), *defaultValue);
      }
    }
    params.push_back({p.name.c_str(), ArgType::Any, defaultValue});
  }
  const std::vector<ParamFlaw> &flaws = checkParams(def, params);
  std::optional<BoundArgs> bound = bind(def.name, params, args, call.range);
  if (!bound)
    return std::nullopt;
  for (const BoundArg &a : bound->args)
    if (a.value.isInvalid())
      return std::nullopt; // reported where it was computed
  bool ok = true;
  for (size_t i = 0; i < def.params.size(); ++i) {
    BoundArg &arg = bound->args[i];
    if (flaws[i] == ParamFlaw::Type || (flaws[i] == ParamFlaw::Default && !arg.given)) {
      ok = false; // reported at the definition, once
      continue;
    }
    if (arg.value.kind == Value::Kind::None) {
      arg.value.setOrigin(arg.given ? arg.range : def.params[i].defaultValue->range,
                          fmt::format("'{}' is None: {}", def.params[i].name,
                                      arg.given ? "given here" : "its default"));
      continue; // None is allowed for a parameter of any type
    }
    if (def.params[i].type.kind != TypeExpr::Kind::None)
      ok &= convertToType(def.name, def.params[i].type, arg);
  }
  return ok ? bound : std::nullopt;
}

// A helper at construction time: `def f(...) = EXPR` or a body ending in
// `return`. It defines no class: a module it returns keeps its own name.
Value Checker::callHelper(const Definition &def, const std::vector<EvalArg> &args, const CallExpr &call) {
  if (inCycle_.count(&def) || closesCycle(def, call))
    return Value::invalid();
  std::optional<BoundArgs> bound = bindDefinition(def, args, call);
  if (!bound)
    return Value::invalid();
  std::map<std::string, Value> locals;
  for (const BoundArg &a : bound->args)
    locals[std::string(a.name())] = a.value;
  Scope scope;
  scope.vars = &locals;
  instantiating_.push_back({&def, call.range});
  building_.push_back(&def);
  Value result;
  if (def.expr) {
    result = eval(*def.expr, scope);
  } else {
    BodyState state;
    state.def = &def;
    execBody(def.body, scope, state);
    if (state.returned)
      result = *state.returned;
    else
      result = Value::none(call.range);
  }
  building_.pop_back();
  instantiating_.pop_back();
  return result;
}

// A helper called in forward: its statements run inlined, with its own
// locals; tensors flow in and out.
Value Checker::callHelperF(const Definition &def, const std::vector<EvalArg> &args,
                           const CallExpr &call, Frame &frame) {
  if (inCycle_.count(&def))
    return Value::invalid();
  std::optional<BoundArgs> bound = bindDefinition(def, args, call);
  if (!bound)
    return Value::invalid();
  if (def.expr) {
    // A value helper: its expression sees only its parameters.
    Scope scope;
    for (const BoundArg &a : bound->args)
      scope.names[std::string(a.name())] = a.value;
    if (std::none_of(bound->args.begin(), bound->args.end(),
                     [](const BoundArg &a) { return a.value.kind == Value::Kind::Tensor; }))
      return eval(*def.expr, scope);
  }
  if (++forwardDepth_ > 64) {
    error(call.range, "helpers are nested more than 64 deep");
    --forwardDepth_;
    return Value::invalid();
  }
  Frame inner;
  inner.module = frame.module;
  inner.helper = true;
  for (const BoundArg &a : bound->args)
    inner.locals[std::string(a.name())] = a.value;
  instantiating_.push_back({&def, call.range});
  if (def.expr) {
    inner.returned = evalF(*def.expr, inner);
  } else {
    exec(def.body, inner);
  }
  instantiating_.pop_back();
  --forwardDepth_;
  if (!inner.returned) {
    error(def.nameRange, fmt::format("helper '{}' does not return a value", def.name));
    return Value::invalid();
  }
  Value result = *inner.returned;
  return result;
}

} // namespace seq::sema

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
  unsigned before = diags_.errorEvents();
  if (spec.validate)
    spec.validate(ArgCheck{*bound, [this](SourceRange r, std::string m) { error(r, std::move(m)); }});
  if (diags_.errorEvents() != before)
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
  module->args.compact(spec.defaults);
  return Value::moduleRef(module, call.range);
}

Value Checker::buildContainer(std::string_view kind, const std::vector<EvalArg> &args,
                              const CallExpr &call) {
  return buildContainerFrom(kind, args.size(), [&](size_t i) -> const EvalArg & { return args[i]; },
                            call);
}

// A container called by name: only its arguments' values are kept while
// they are evaluated, the rest of each argument is read from the AST, so
// that a Sequential of 100,000 layers holds 32 bytes a layer while it is
// built, not an EvalArg of 72. As evalCall would: every argument is
// evaluated, and none may be invalid.
Value Checker::evalContainer(std::string_view kind, const CallExpr &call, const Scope &scope) {
  std::vector<Value> values;
  values.reserve(call.args.size());
  bool valid = true;
  for (const Arg &a : call.args) {
    values.push_back(eval(*a.value(), scope));
    valid = valid && !values.back().isInvalid();
  }
  if (!valid)
    return Value::invalid();
  return buildContainerFrom(kind, values.size(), [&](size_t i) {
    const Arg &a = call.args[i];
    return EvalArg{a.name(), a.nameRange(), a.value()->range, std::move(values[i])};
  }, call);
}

template <typename ArgAt>
Value Checker::buildContainerFrom(std::string_view kind, size_t count, const ArgAt &argAt,
                                  const CallExpr &call) {
  bool isDict = kind == "ModuleDict";
  bool isList = kind == "ModuleList" || kind == "CellList";
  ModuleInst *module = newModule(isDict ? ModuleInst::Kind::ModuleDict
                                 : isList ? ModuleInst::Kind::ModuleList
                                          : ModuleInst::Kind::Sequential,
                                 isDict ? "ModuleDict" : isList ? "ModuleList" : "Sequential",
                                 call.range);
  module->mutableChildren().reserve(count); // exact for one module per argument: a deep Sequential
  std::set<std::string> names;
  bool positional = false, named = false;
  auto addChild = [&](std::string name, const Value &v, SourceRange range) {
    if (v.kind == Value::Kind::None)
      return true; // skipped: takes no index or name
    if (v.kind == Value::Kind::Callable) {
      error(range, fmt::format("{} holds modules, but this is {}; call it to make one: '{}(...)'",
                               module->className(), describe(v), v.str()));
      return false;
    }
    if (v.kind != Value::Kind::Module) {
      error(range, fmt::format("{} holds modules, but this is {}", module->className(), describe(v)));
      return false;
    }
    // Positional children are numbered, so only named ones can clash.
    if (named && !names.insert(name).second) {
      error(range, fmt::format("{} already has a child named '{}'", module->className(), name));
      return false;
    }
    module->mutableChildren().push_back({std::move(name), v.module()});
    return true;
  };
  // Named pairs: OrderedDict([...]) or ModuleDict([...]).
  auto addPairs = [&](const Value &pairs, SourceRange range) {
    for (const Value &pair : pairs.items()) {
      if ((pair.kind != Value::Kind::Tuple && pair.kind != Value::Kind::List) ||
          pair.items().size() != 2 || pair.items()[0].kind != Value::Kind::Str) {
        error(pair.range.valid() ? pair.range : range, "expected a ('name', module) pair");
        return;
      }
      addChild(pair.items()[0].str(), pair.items()[1], pair.range);
    }
  };

  for (size_t i = 0; i < count; ++i) {
    auto &&a = argAt(i); // each read once
    if (!a.name.empty()) {
      if (isList) {
        error(a.nameRange, fmt::format("{} takes its modules as positional arguments", module->className()));
        continue;
      }
      named = true;
      addChild(std::string(a.name), a.value, a.range);
    } else if (a.value.str() == "OrderedDict" || (isDict && a.value.kind == Value::Kind::List)) {
      named = true;
      addPairs(a.value, a.range);
    } else if ((a.value.kind == Value::Kind::List || a.value.kind == Value::Kind::Tuple) &&
               (isList || count == 1 || a.value.items().empty() ||
                a.value.items()[0].kind == Value::Kind::Module)) {
      positional = true;
      for (const Value &item : a.value.items())
        addChild(std::to_string(module->children().size()), item,
                 item.range.valid() ? item.range : a.range);
    } else if (isDict) {
      error(a.range, "ModuleDict takes named modules: ModuleDict(a = M1, b = M2)");
    } else {
      positional = true;
      addChild(std::to_string(module->children().size()), a.value, a.range);
    }
  }
  if (positional && named)
    error(call.range, fmt::format("{} mixes positional and named children; use one form",
                                  module->className()));
  return Value::moduleRef(module, call.range);
}

Value Checker::instantiate(const Definition &def, const std::vector<EvalArg> &args,
                           const CallExpr &call) {
  if (inCycle_.count(&def) || closesCycle(def, call))
    return Value::invalid();
  std::optional<BoundArgs> bound = bindDefinition(def, args, call);
  if (!bound)
    return Value::invalid();

  instantiating_.push_back({&def, call.range});
  building_.push_back(&def);
  Value result;
  if (def.expr) {
    Scope scope;
    for (const BoundArg &a : bound->args)
      scope.names[std::string(a.name())] = a.value;
    result = eval(*def.expr, scope);
    if (result.kind == Value::Kind::Module) {
      result.module()->setClassName(def.name);
      result.module()->setRange(call.range);
      if (!def.body.empty()) {
        // A container subclass with its own forward.
        result.module()->setDefinition(&def);
        for (const BoundArg &a : bound->args)
          result.module()->mutableConstants()[std::string(a.name())] = a.value;
        for (const StmtPtr &stmt : def.body) {
          if (auto *forward = stmt->as<ForwardStmt>(); forward && !result.module()->forward()) {
            result.module()->setForward(forward);
          } else {
            error(stmt->range, fmt::format("the body of a container subclass holds only its "
                                           "forward; build its children in '{}'s expression",
                                           def.name));
            // The statement would have changed its children: what its
            // forward computes is unknown.
            incomplete_.insert(result.module());
          }
        }
      }
    } else if (!result.isInvalid()) {
      error(def.expr->range, fmt::format("module '{}' must be a module expression, but this is {}",
                                         def.name, describe(result)));
      result = Value::invalid();
    }
  } else {
    ModuleInst *module = newModule(ModuleInst::Kind::User, def.name.c_str(), call.range);
    module->setDefinition(&def);
    for (const BoundArg &a : bound->args)
      module->mutableConstants()[std::string(a.name())] = a.value;
    Scope scope;
    result = runBody(module, def.body, scope, def) ? Value::moduleRef(module, call.range)
                                                   : Value::invalid();
  }
  building_.pop_back();
  instantiating_.pop_back();
  return result;
}

void Checker::containerMethod(ModuleInst *target, const std::string &method,
                              const std::vector<EvalArg> &args, const CallExpr &call) {
  bool sequenceLike = target->kind == ModuleInst::Kind::Sequential ||
                      target->kind == ModuleInst::Kind::ModuleList;
  auto renumber = [&] {
    for (size_t i = 0; i < target->children().size(); ++i)
      target->mutableChildren()[i].first = std::to_string(i);
  };
  auto moduleArg = [&](const EvalArg &a) -> ModuleInst * {
    if (a.value.kind == Value::Kind::Module)
      return a.value.module();
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
                                          "not on {}", method, target->className()));
    return;
  }
  if (method == "append") {
    if (arity(1))
      if (ModuleInst *m = moduleArg(args[0]))
        target->mutableChildren().push_back({std::to_string(target->children().size()), m});
  } else if (method == "extend") {
    if (!arity(1))
      return;
    std::vector<Value> items = args[0].value.items();
    if (args[0].value.kind == Value::Kind::Module)
      for (auto &[n, c] : args[0].value.module()->children())
        items.push_back(Value::moduleRef(c, args[0].range));
    for (const Value &item : items)
      if (item.kind != Value::Kind::None)
        if (ModuleInst *m = moduleArg({"", {}, args[0].range, item}))
          target->mutableChildren().push_back({std::to_string(target->children().size()), m});
  } else if (method == "insert" || method == "pop") {
    if (!arity(method == "insert" ? 2 : 1))
      return;
    if (!args[0].value.isConstInt()) {
      error(args[0].range, fmt::format("'{}' takes an integer index", method));
      return;
    }
    int64_t n = int64_t(target->children().size()), i = args[0].value.asInt();
    if (method == "insert") {
      i = std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
      if (ModuleInst *m = moduleArg(args[1]))
        target->mutableChildren().insert(target->mutableChildren().begin() + i, {"", m});
    } else {
      if (i < -n || i >= n) {
        error(args[0].range, fmt::format("pop index {} is out of range for {} children", i, n));
        return;
      }
      target->mutableChildren().erase(target->mutableChildren().begin() + (i < 0 ? i + n : i));
    }
    renumber();
  } else if (method == "add_module" || method == "register_module") {
    if (arity(2))
      addModule(target, args, call);
  } else {
    error(call.callee->range, fmt::format("{} has no method '{}'", target->className(), method));
  }
}

} // namespace seq::sema

namespace seq::sema {

// add_module(name, module), with the checks of PyTorch's add_module: a
// string, not empty, no '.', not an attribute that is not a child. A name
// already used by a child replaces it in place; None registers nothing.
void Checker::addModule(ModuleInst *target, const std::vector<EvalArg> &args, const CallExpr &call) {
  const EvalArg &name = args[0];
  if (name.value.kind != Value::Kind::Str) {
    error(name.range, fmt::format("a module name must be a string, not {}", describe(name.value)));
    return;
  }
  const std::string &n = name.value.str();
  if (n.empty()) {
    error(name.range, "a module name cannot be empty (PyTorch's add_module refuses it)");
    return;
  }
  if (n.find('.') != std::string::npos) {
    error(name.range, fmt::format("module name '{}' contains '.', which PyTorch's add_module "
                                  "refuses (dots separate the levels of state_dict names)", n))
        .fixes.push_back({"use '_' or '-' instead", std::nullopt, ""});
    return;
  }
  bool isChild = target->child(n) != nullptr;
  if (!isChild && (target->constants().count(n) || n == "forward" || n == "training")) {
    error(name.range, fmt::format("'{}' is already an attribute of '{}' that is not a module; "
                                  "PyTorch's add_module refuses it", n, target->className()));
    return;
  }
  const Value &m = args[1].value;
  if (m.kind == Value::Kind::None)
    return;
  if (m.kind != Value::Kind::Module) {
    error(args[1].range, fmt::format("'{}' takes a module, not {}", calleeName(*call.callee), describe(m)));
    return;
  }
  for (auto &[childName, child] : target->mutableChildren())
    if (childName == n) {
      child = m.module();
      return;
    }
  target->mutableChildren().push_back({n, m.module()});
  target->mutableAbsent().erase(n);
}

} // namespace seq::sema

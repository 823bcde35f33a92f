// Binder: binds call arguments to parameters exactly as Python does
// (positional first, then keywords, defaults), and checks their types.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>

namespace seq::sema {

std::optional<BoundArgs> Checker::bind(std::string_view what, const std::vector<ParamSpec> &params,
                                       const std::vector<EvalArg> &args, SourceRange call) {
  BoundArgs bound;
  bound.call = call;
  // Exactly sized: a layer's arguments live as long as the model, and
  // growing by doubling would leave up to 40% of them unused.
  bound.args.reserve(params.size());
  for (const ParamSpec &p : params)
    bound.args.push_back({p.nameId(), Value::invalid(), false, call});
  bool ok = true;
  size_t position = 0;
  bool sawKeyword = false;
  for (const EvalArg &arg : args) {
    if (arg.name.empty()) {
      if (sawKeyword) {
        error(arg.range, "a positional argument cannot follow keyword arguments");
        ok = false;
      } else if (position >= params.size()) {
        error(arg.range, fmt::format("{}() takes {} positional argument{} but {} were given", what,
                                     params.size(), params.size() == 1 ? "" : "s",
                                     std::count_if(args.begin(), args.end(),
                                                   [](const EvalArg &a) { return a.name.empty(); })));
        return std::nullopt;
      } else {
        bound.args[position] = {params[position].nameId(), arg.value, true, arg.range};
        ++position;
      }
      continue;
    }
    sawKeyword = true;
    auto it = std::find_if(bound.args.begin(), bound.args.end(),
                           [&](const BoundArg &b) { return b.name() == arg.name; });
    if (it == bound.args.end()) {
      std::vector<std::string> names;
      for (const ParamSpec &p : params)
        names.push_back(p.name);
      Diagnostic &d = error(arg.nameRange, fmt::format("{}() got an unexpected keyword argument '{}'",
                                                       what, arg.name));
      if (auto s = suggest(std::string(arg.name), names))
        d.fixes.push_back({fmt::format("did you mean '{}'?", *s), arg.nameRange, *s});
      ok = false;
    } else if (it->given) {
      error(arg.nameRange, fmt::format("{}() got multiple values for argument '{}'", what, arg.name))
          .notes.push_back({"first given here", std::optional<SourceRange>(it->range)});
      ok = false;
    } else {
      *it = {it->nameId(), arg.value, true, arg.range};
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (bound.args[i].given)
      continue;
    if (!params[i].defaultValue) {
      error(call, fmt::format("{}() is missing its required argument '{}'", what, params[i].name));
      ok = false;
      continue;
    }
    bound.args[i].value = *params[i].defaultValue;
    bound.args[i].value.range = call;
  }
  for (size_t i = 0; ok && i < params.size(); ++i)
    if (bound.args[i].given)
      ok &= convert(what, params[i], bound.args[i]);
  return ok ? std::optional<BoundArgs>(std::move(bound)) : std::nullopt;
}

namespace {

bool isInt(const Value &v) { return v.kind == Value::Kind::Int; }
bool isIntTuple(const Value &v, size_t n) { return v.isIntTuple(n); }

const char *expected(ArgType type) {
  switch (type) {
  case ArgType::Int: return "an int";
  case ArgType::Float: return "a float";
  case ArgType::Bool: return "a bool";
  case ArgType::Str: return "a string";
  case ArgType::IntOrPair: return "an int or a tuple of 2 ints";
  case ArgType::IntOrSingle: return "an int or a tuple of 1 int";
  case ArgType::Padding2d: return "an int, a tuple of 2 ints, 'same' or 'valid'";
  case ArgType::Padding1d: return "an int, a tuple of 1 int, 'same' or 'valid'";
  case ArgType::OptIntOrPair: return "None, an int or a tuple of 2 ints";
  case ArgType::OptFloat: return "None or a float";
  case ArgType::IntOrInts: return "an int or a tuple of ints";
  case ArgType::OutputSize2d: return "an int or a tuple of 2 ints (or None)";
  case ArgType::Any: return "any value";
  }
  return "a value";
}

bool matches(ArgType type, const Value &v) {
  switch (type) {
  case ArgType::Int: return isInt(v);
  case ArgType::Float: return v.isNumber();
  case ArgType::Bool: return v.kind == Value::Kind::Bool;
  case ArgType::Str: return v.kind == Value::Kind::Str;
  case ArgType::IntOrPair: return isInt(v) || isIntTuple(v, 2);
  case ArgType::IntOrSingle: return isInt(v) || isIntTuple(v, 1);
  case ArgType::Padding2d: return isInt(v) || isIntTuple(v, 2) || v.kind == Value::Kind::Str;
  case ArgType::Padding1d: return isInt(v) || isIntTuple(v, 1) || v.kind == Value::Kind::Str;
  case ArgType::OptIntOrPair: return v.kind == Value::Kind::None || isInt(v) || isIntTuple(v, 2);
  case ArgType::OptFloat: return v.kind == Value::Kind::None || v.isNumber();
  case ArgType::IntOrInts:
    return isInt(v) || (!v.items().empty() && isIntTuple(v, v.items().size()));
  case ArgType::OutputSize2d:
    if (isInt(v))
      return true;
    if ((v.kind != Value::Kind::Tuple && v.kind != Value::Kind::List) || v.items().size() != 2)
      return false;
    for (const Value &item : v.items())
      if (!item.isConstInt() && item.kind != Value::Kind::None)
        return false;
    return true;
  case ArgType::Any: return true;
  }
  return false;
}

} // namespace

bool Checker::convert(std::string_view what, const ParamSpec &param, BoundArg &arg) {
  if (!matches(param.type, arg.value)) {
    error(arg.range, fmt::format("argument '{}' of {} must be {}, not {}", param.name, what,
                                 expected(param.type), describe(arg.value)));
    return false;
  }
  if (!param.choices.empty() &&
      std::find(param.choices.begin(), param.choices.end(), arg.value.str()) == param.choices.end()) {
    std::string expected;
    for (size_t i = 0; i < param.choices.size(); ++i)
      expected += (i == 0 ? "'" : i + 1 == param.choices.size() ? " or '" : ", '") +
                  param.choices[i] + "'";
    error(arg.range, fmt::format("unknown {} '{}': expected {}", param.name, arg.value.str(), expected));
    return false;
  }
  auto constant = [&](const Value &v) { return v.kind != Value::Kind::Int || v.integer().isConstant(); };
  bool allConstant = constant(arg.value);
  for (const Value &item : arg.value.items())
    allConstant &= constant(item);
  if (!allConstant && param.type != ArgType::Any) {
    error(arg.range, fmt::format("argument '{}' of {} must be a constant, but it depends on the "
                                 "batch size", param.name, what));
    return false;
  }
  return true;
}

bool Checker::convertToType(std::string_view what, const ast::TypeExpr &type, BoundArg &arg,
                            bool isDefault) {
  const Value &v = arg.value;
  bool ok = false;
  std::string want;
  if (type.kind == ast::TypeExpr::Kind::Named) {
    want = type.name;
    if (type.name == "int")
      ok = v.isConstInt();
    else if (type.name == "float")
      ok = v.isNumber() && (v.kind != Value::Kind::Int || v.integer().isConstant());
    else if (type.name == "bool")
      ok = v.kind == Value::Kind::Bool;
    else if (type.name == "str")
      ok = v.kind == Value::Kind::Str;
    else if (type.name == "list" || type.name == "tuple") {
      ok = v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple;
      want = "a list";
    } else if (type.name == "module") {
      // A layer by name (BatchNorm2d), a partial of one, or a module built
      // by the caller (torchvision passes `downsample` so).
      ok = v.kind == Value::Kind::Callable || v.kind == Value::Kind::Module;
      want = "a layer or module (such as 'BatchNorm2d' or 'partial(BatchNorm2d, eps=0.001)')";
    } else {
      error(type.range, fmt::format("unknown parameter type '{}': expected int, float, bool, str, "
                                    "module, a tuple such as (int, int) or a list such as [int]",
                                    type.name));
      return false;
    }
    if (ok && type.name == "float" && v.kind == Value::Kind::Int)
      arg.value = Value::float_(double(v.asInt()), v.range);
  } else if (type.kind == ast::TypeExpr::Kind::Tuple) {
    want = "a tuple of " + std::to_string(type.elements.size());
    ok = v.isIntTuple(type.elements.size());
  } else if (type.kind == ast::TypeExpr::Kind::Shape) {
    // `[int]`, `[str]`, `[(int, int)]`: a list (or tuple) of constants.
    want = "a list";
    ok = v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple;
  } else {
    return true; // untyped: a helper's parameter
  }
  if (!ok)
    error(arg.range, fmt::format("{} '{}' of {} must be {}, not {}",
                                 isDefault ? "the default of parameter" : "argument", arg.name(), what,
                                 want == "int" || want == "float" || want == "bool" || want == "str"
                                     ? (want == "int" ? "an int" : "a " + want)
                                     : want,
                                 describe(v)));
  return ok;
}

} // namespace seq::sema

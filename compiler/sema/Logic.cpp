// Logic: what decides control flow at compile time: truth, comparisons
// (chained as in Python), `and`/`or`/`not`, `A if C else B`, f-strings, and
// the built-in functions of Python that compute constants (int, round,
// min, max, len, str, math.ceil, ...). A condition on a tensor is an error:
// seqc decides control flow when it compiles.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <cmath>

namespace seq::sema {

using namespace seq::ast;

std::optional<bool> Checker::truth(const Value &v, SourceRange range) {
  switch (v.kind) {
  case Value::Kind::Invalid: return std::nullopt;
  case Value::Kind::None: return false;
  case Value::Kind::Bool: return v.boolean();
  case Value::Kind::Int:
    if (!v.integer().isConstant())
      return true; // the batch is at least 1
    return v.asInt() != 0;
  case Value::Kind::Float: return v.number() != 0;
  case Value::Kind::Str: return !v.str().empty();
  case Value::Kind::Tuple:
  case Value::Kind::List: return !v.items().empty();
  case Value::Kind::Module:
  case Value::Kind::Callable: return true;
  case Value::Kind::Tensor: {
    Diagnostic &d = error(range, "a condition on a tensor value: control flow is decided when the "
                                 "model is compiled, so a condition must be a compile-time value "
                                 "(an int, float, string, bool, 'is None' test or module argument)");
    noteOrigin(d, v.tensor());
    return std::nullopt;
  }
  }
  return std::nullopt;
}

static bool sameValue(const Value &a, const Value &b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.kind == Value::Kind::Int && b.kind == Value::Kind::Int)
      return a.integer().isConstant() && b.integer().isConstant() ? a.asInt() == b.asInt()
                                                               : a.integer().str() == b.integer().str();
    return a.asDouble() == b.asDouble();
  }
  if (a.kind == Value::Kind::Bool && b.isNumber())
    return double(a.boolean()) == b.asDouble();
  if (b.kind == Value::Kind::Bool && a.isNumber())
    return double(b.boolean()) == a.asDouble();
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case Value::Kind::None: return true;
  case Value::Kind::Bool: return a.boolean() == b.boolean();
  case Value::Kind::Str: return a.str() == b.str();
  case Value::Kind::Module: return a.module() == b.module();
  case Value::Kind::Tensor: return a.tensor() == b.tensor();
  case Value::Kind::Callable: return a.str() == b.str() && a.items().empty() && b.items().empty();
  case Value::Kind::Tuple:
  case Value::Kind::List:
    if (a.items().size() != b.items().size())
      return false;
    for (size_t i = 0; i < a.items().size(); ++i)
      if (!sameValue(a.items()[i], b.items()[i]))
        return false;
    return true;
  default: return false;
  }
}

Value Checker::compareValues(CompareOp op, const Value &lhs, const Value &rhs, SourceRange range) {
  if (lhs.isInvalid() || rhs.isInvalid())
    return Value::invalid();
  if ((lhs.kind == Value::Kind::Tensor || rhs.kind == Value::Kind::Tensor) && op != CompareOp::Is &&
      op != CompareOp::IsNot) {
    error(range, fmt::format("comparing tensors ('{}') is not supported: a condition must be a "
                             "compile-time value", spelling(op)));
    return Value::invalid();
  }
  switch (op) {
  case CompareOp::Is:
  case CompareOp::IsNot: {
    bool same = lhs.kind == rhs.kind && (lhs.kind == Value::Kind::None || sameValue(lhs, rhs));
    return Value::boolean_(op == CompareOp::Is ? same : !same, range);
  }
  case CompareOp::Eq: return Value::boolean_(sameValue(lhs, rhs), range);
  case CompareOp::Ne: return Value::boolean_(!sameValue(lhs, rhs), range);
  case CompareOp::In:
  case CompareOp::NotIn: {
    bool found = false;
    if (rhs.kind == Value::Kind::Str && lhs.kind == Value::Kind::Str)
      found = rhs.str().find(lhs.str()) != std::string::npos;
    else if (rhs.kind == Value::Kind::List || rhs.kind == Value::Kind::Tuple)
      found = std::any_of(rhs.items().begin(), rhs.items().end(),
                          [&](const Value &item) { return sameValue(lhs, item); });
    else if (rhs.kind == Value::Kind::Module && lhs.kind == Value::Kind::Str)
      found = rhs.module()->child(lhs.str()) != nullptr;
    else {
      error(range, fmt::format("'in' needs a list, a tuple, a string or a container on its right, "
                               "not {}", describe(rhs)));
      return Value::invalid();
    }
    return Value::boolean_(op == CompareOp::In ? found : !found, range);
  }
  default: break;
  }
  auto numeric = [](const Value &v) {
    return (v.isNumber() && (v.kind != Value::Kind::Int || v.integer().isConstant())) ||
           v.kind == Value::Kind::Bool;
  };
  auto number = [](const Value &v) { return v.kind == Value::Kind::Bool ? double(v.boolean()) : v.asDouble(); };
  int order = 0;
  if (numeric(lhs) && numeric(rhs)) {
    if (lhs.kind == Value::Kind::Int && rhs.kind == Value::Kind::Int)
      order = lhs.asInt() < rhs.asInt() ? -1 : lhs.asInt() > rhs.asInt();
    else
      order = number(lhs) < number(rhs) ? -1 : number(lhs) > number(rhs);
  } else if (lhs.kind == Value::Kind::Str && rhs.kind == Value::Kind::Str) {
    order = lhs.str().compare(rhs.str()) < 0 ? -1 : lhs.str().compare(rhs.str()) > 0;
  } else {
    error(range, fmt::format("'{}' is not supported between {} and {}", spelling(op), describe(lhs),
                             describe(rhs)));
    return Value::invalid();
  }
  bool r = op == CompareOp::Lt ? order < 0 : op == CompareOp::Gt ? order > 0
           : op == CompareOp::Le ? order <= 0 : order >= 0;
  return Value::boolean_(r, range);
}

Value Checker::evalLogic(const Expr &e, const SubEval &sub) {
  switch (e.kind) {
  case ExprKind::Compare: {
    auto *c = e.as<CompareExpr>();
    Value lhs = sub(*c->operands[0]);
    Value result = Value::boolean_(true, e.range);
    for (size_t i = 0; i < c->ops.size(); ++i) {
      Value rhs = sub(*c->operands[i + 1]);
      result = compareValues(c->ops[i], lhs, rhs, e.range);
      if (result.isInvalid() || !result.boolean())
        return result; // Python stops at the first false link
      lhs = rhs;
    }
    return result;
  }
  case ExprKind::Not: {
    Value v = sub(*e.as<NotExpr>()->operand);
    std::optional<bool> t = truth(v, e.as<NotExpr>()->operand->range);
    return t ? Value::boolean_(!*t, e.range) : Value::invalid();
  }
  case ExprKind::BoolOp: {
    // Python's and/or give an operand, not a bool: `a or b`.
    auto *b = e.as<BoolOpExpr>();
    Value lhs = sub(*b->lhs);
    std::optional<bool> t = truth(lhs, b->lhs->range);
    if (!t)
      return Value::invalid();
    if (*t != b->isAnd)
      return lhs;
    Value rhs = sub(*b->rhs);
    if (rhs.kind == Value::Kind::Tensor && !truth(rhs, b->rhs->range))
      return Value::invalid();
    return rhs;
  }
  case ExprKind::Ternary: {
    // Only the branch taken is evaluated, as in C++'s `if constexpr`.
    auto *t = e.as<TernaryExpr>();
    std::optional<bool> c = truth(sub(*t->cond), t->cond->range);
    if (!c)
      return Value::invalid();
    return sub(*c ? *t->then : *t->otherwise);
  }
  case ExprKind::FString: {
    std::string out;
    for (const FStringPart &part : e.as<FStringExpr>()->parts) {
      if (!part.field) {
        out += part.text;
        continue;
      }
      Value v = sub(*part.field);
      if (v.isInvalid())
        return v;
      if (v.isConstInt())
        out += std::to_string(v.asInt());
      else if (v.kind == Value::Kind::Str)
        out += v.str();
      else {
        error(part.field->range, fmt::format("an f-string field must be an int or a str, but this "
                                             "is {}", describe(v)));
        return Value::invalid();
      }
    }
    return Value::string(std::move(out), e.range);
  }
  case ExprKind::Star: {
    const Expr &operand = *e.as<StarExpr>()->operand;
    Diagnostic &d = error(e.range, "'*' unpacking is Python syntax that .seq does not have");
    d.fixes.push_back({fmt::format("pass the list itself: a container takes a list of modules, as "
                                   "in 'Sequential({})'", text(operand.range)),
                       e.range, text(operand.range)});
    return Value::invalid();
  }
  default: break;
  }
  return Value::invalid();
}

// Python's built-in functions of constants. nullopt: `name` is not one
// (a function of `math` that seqc does not have is an error).
std::optional<Value> Checker::callBuiltin(std::string_view name, const std::vector<EvalArg> &args,
                                          const CallExpr &call) {
  static const char *const names[] = {"int", "float", "round", "min", "max", "abs", "len",
                                      "str", "bool", "math.ceil", "math.floor", "math.sqrt", "sum",
                                      "enumerate", "zip"};
  if (std::find(std::begin(names), std::end(names), name) == std::end(names)) {
    if (!name.starts_with("math."))
      return std::nullopt;
    error(call.callee->range, fmt::format("'{}' is not supported: of Python's math module, .seq has "
                                          "math.ceil, math.floor and math.sqrt", name));
    return Value::invalid();
  }
  for (const EvalArg &a : args)
    if (!a.name.empty()) {
      error(a.nameRange, fmt::format("{}() takes no keyword arguments here", name));
      return Value::invalid();
    }
  auto want = [&](size_t lo, size_t hi) {
    if (args.size() >= lo && args.size() <= hi)
      return true;
    error(call.range, fmt::format("{}() takes {} argument{}, {} given", name,
                                  lo == hi ? std::to_string(lo) : fmt::format("{} to {}", lo, hi),
                                  hi == 1 ? "" : "s", args.size()));
    return false;
  };
  auto constNumber = [&](const Value &v, SourceRange r) {
    if ((v.isNumber() && (v.kind != Value::Kind::Int || v.integer().isConstant())) ||
        v.kind == Value::Kind::Bool)
      return true;
    error(r, fmt::format("{}() takes a number here, not {}", name, describe(v)));
    return false;
  };
  auto asDouble = [](const Value &v) { return v.kind == Value::Kind::Bool ? double(v.boolean()) : v.asDouble(); };
  auto toInt = [&](double d) -> Value {
    if (!std::isfinite(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) {
      error(call.range, fmt::format("{}() of {} does not fit in a 64-bit int", name, pythonFloat(d)));
      return Value::invalid();
    }
    return Value::integer_(int64_t(d), call.range);
  };
  if (name == "len") {
    if (!want(1, 1))
      return Value::invalid();
    const Value &v = args[0].value;
    if (v.kind == Value::Kind::Module && v.module()->isContainer())
      return Value::integer_(int64_t(v.module()->children().size()), call.range);
    if (v.kind == Value::Kind::Str)
      return Value::integer_(int64_t(v.str().size()), call.range);
    if (v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple)
      return Value::integer_(int64_t(v.items().size()), call.range);
    error(args[0].range, fmt::format("len() of {} is not defined", describe(v)));
    return Value::invalid();
  }
  if (name == "enumerate" || name == "zip") {
    // Lists of tuples: enumerate(xs) and zip(xs, ys, ...).
    std::vector<const Value *> seqs;
    for (const EvalArg &a : args) {
      if (a.value.kind != Value::Kind::List && a.value.kind != Value::Kind::Tuple) {
        error(a.range, fmt::format("{}() takes lists or tuples, not {}", name, describe(a.value)));
        return Value::invalid();
      }
      seqs.push_back(&a.value);
    }
    if (seqs.empty() || (name == "enumerate" && seqs.size() != 1)) {
      error(call.range, fmt::format("{}() takes {}", name, name == "enumerate" ? "one list" : "lists"));
      return Value::invalid();
    }
    size_t n = seqs[0]->items().size();
    for (const Value *s : seqs)
      n = std::min(n, s->items().size());
    std::vector<Value> out;
    for (size_t i = 0; i < n; ++i) {
      std::vector<Value> row;
      if (name == "enumerate")
        row.push_back(Value::integer_(int64_t(i), call.range));
      for (const Value *s : seqs)
        row.push_back(s->items()[i]);
      out.push_back(Value::tuple(std::move(row), call.range));
    }
    return Value::list(std::move(out), call.range);
  }
  if (name == "str") {
    if (!want(1, 1))
      return Value::invalid();
    return Value::string(pythonStr(args[0].value), call.range);
  }
  if (name == "bool") {
    if (!want(1, 1))
      return Value::invalid();
    std::optional<bool> t = truth(args[0].value, args[0].range);
    return t ? Value::boolean_(*t, call.range) : Value::invalid();
  }
  if (name == "min" || name == "max" || name == "sum") {
    std::vector<Value> items;
    for (const EvalArg &a : args)
      items.push_back(a.value);
    if (args.size() == 1 && (args[0].value.kind == Value::Kind::List || args[0].value.kind == Value::Kind::Tuple))
      items = args[0].value.items();
    if (items.empty()) {
      error(call.range, fmt::format("{}() of nothing", name));
      return Value::invalid();
    }
    Value best = items[0];
    if (!constNumber(best, args[0].range))
      return Value::invalid();
    for (size_t i = 1; i < items.size(); ++i) {
      if (!constNumber(items[i], args[std::min(i, args.size() - 1)].range))
        return Value::invalid();
      if (name == "sum") {
        best = arithmetic(BinaryOp::Add, best, items[i], call.range);
        continue;
      }
      bool less = asDouble(items[i]) < asDouble(best);
      if (name == "min" ? less : asDouble(items[i]) > asDouble(best))
        best = items[i];
    }
    best.range = call.range;
    return best;
  }
  if (!want(1, name == "round" ? 2 : 1) || !constNumber(args[0].value, args[0].range))
    return Value::invalid();
  const Value &v = args[0].value;
  double d = asDouble(v);
  if (name == "int")
    return v.kind == Value::Kind::Int ? v : toInt(std::trunc(d));
  if (name == "float")
    return Value::float_(d, call.range);
  if (name == "abs")
    return v.kind == Value::Kind::Int ? arithmetic(BinaryOp::Mul, v, Value::integer_(d < 0 ? -1 : 1), call.range)
                                      : Value::float_(std::fabs(d), call.range);
  if (name == "math.ceil")
    return toInt(std::ceil(d));
  if (name == "math.floor")
    return toInt(std::floor(d));
  if (name == "math.sqrt")
    return Value::float_(std::sqrt(d), call.range);
  // round: halves to even, as Python 3; with ndigits, a float.
  if (args.size() == 2) {
    if (!args[1].value.isConstInt()) {
      error(args[1].range, "round()'s ndigits must be an int");
      return Value::invalid();
    }
    double scale = std::pow(10.0, double(args[1].value.asInt()));
    return Value::float_(std::nearbyint(d * scale) / scale, call.range);
  }
  return v.kind == Value::Kind::Int ? v : toInt(std::nearbyint(d));
}

} // namespace seq::sema

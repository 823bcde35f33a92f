// Arithmetic: compile-time arithmetic on ints (possibly batch-dependent),
// floats and, in forward, tensors. Python's semantics (// and % floor),
// every overflow an error.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <cmath>

namespace seq::sema {

using ast::BinaryOp;

static std::optional<int64_t> power(int64_t base, int64_t exponent) {
  int64_t result = 1;
  for (; exponent > 0; exponent >>= 1) {
    if ((exponent & 1) && __builtin_mul_overflow(result, base, &result))
      return std::nullopt;
    if (exponent > 1 && __builtin_mul_overflow(base, base, &base))
      return std::nullopt;
  }
  return result;
}

// Strings and lists: `+` joins, `*` repeats, `"block%d" % i` formats.
std::optional<Value> Checker::sequenceArithmetic(BinaryOp op, const Value &lhs, const Value &rhs,
                                                 SourceRange range) {
  bool lseq = lhs.kind == Value::Kind::List || lhs.kind == Value::Kind::Tuple;
  bool rseq = rhs.kind == Value::Kind::List || rhs.kind == Value::Kind::Tuple;
  if (op == BinaryOp::Add && lhs.kind == Value::Kind::Str && rhs.kind == Value::Kind::Str)
    return Value::string(lhs.str() + rhs.str(), range);
  if (op == BinaryOp::Add && lseq && rseq && lhs.kind == rhs.kind) {
    Value out = lhs;
    out.mutableItems().insert(out.items().end(), rhs.items().begin(), rhs.items().end());
    out.range = range;
    out.setStr("");
    return out;
  }
  if (op == BinaryOp::Mul && (lseq || lhs.kind == Value::Kind::Str) && rhs.isConstInt()) {
    std::vector<Value> items;
    std::string text;
    for (int64_t i = 0; i < std::min<int64_t>(rhs.asInt(), 100000); ++i) {
      items.insert(items.end(), lhs.items().begin(), lhs.items().end());
      if (lhs.kind == Value::Kind::Str)
        text += lhs.str();
    }
    Value out = lhs;
    out.mutableItems() = std::move(items);
    out.setStr(std::move(text));
    out.range = range;
    return out;
  }
  if (op == BinaryOp::Mod && lhs.kind == Value::Kind::Str) {
    std::vector<Value> fields = rhs.kind == Value::Kind::Tuple ? rhs.items() : std::vector<Value>{rhs};
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < lhs.str().size(); ++i) {
      if (lhs.str()[i] != '%' || i + 1 == lhs.str().size()) {
        out += lhs.str()[i];
        continue;
      }
      char spec = lhs.str()[++i];
      if (spec == '%') {
        out += '%';
        continue;
      }
      if ((spec != 'd' && spec != 's') || next >= fields.size() ||
          (spec == 'd' && !fields[next].isConstInt())) {
        error(range, "only '%d' with ints and '%s' are supported in '%' formatting; an f-string "
                     "is clearer");
        return Value::invalid();
      }
      out += pythonStr(fields[next++]);
    }
    return Value::string(std::move(out), range);
  }
  return std::nullopt;
}

Value Checker::arithmetic(BinaryOp op, const Value &lhs, const Value &rhs, SourceRange range) {
  if (lhs.isInvalid() || rhs.isInvalid())
    return Value::invalid();
  if (lhs.kind == Value::Kind::Tensor || rhs.kind == Value::Kind::Tensor)
    return binaryTensor(op, lhs, rhs, range);
  if (std::optional<Value> v = sequenceArithmetic(op, lhs, rhs, range))
    return *v;
  auto asNumber = [](const Value &v) {
    return v.kind == Value::Kind::Bool ? Value::integer_(v.boolean() ? 1 : 0, v.range) : v;
  };
  if (lhs.kind == Value::Kind::Bool || rhs.kind == Value::Kind::Bool)
    return arithmetic(op, asNumber(lhs), asNumber(rhs), range);
  if (!lhs.isNumber() || !rhs.isNumber()) {
    error(range, fmt::format("unsupported operand types for '{}': {} and {}", ast::spelling(op),
                             describe(lhs), describe(rhs)));
    return Value::invalid();
  }
  if (lhs.kind == Value::Kind::Float || rhs.kind == Value::Kind::Float || op == BinaryOp::Div) {
    if ((!lhs.integer().isConstant() && lhs.kind == Value::Kind::Int) ||
        (!rhs.integer().isConstant() && rhs.kind == Value::Kind::Int)) {
      error(range, "the batch size can only be added, subtracted or multiplied by a constant");
      return Value::invalid();
    }
    double a = lhs.asDouble(), b = rhs.asDouble();
    if ((op == BinaryOp::Div || op == BinaryOp::FloorDiv || op == BinaryOp::Mod) && b == 0) {
      error(range, "division by zero");
      return Value::invalid();
    }
    switch (op) {
    case BinaryOp::Add: return Value::float_(a + b, range);
    case BinaryOp::Sub: return Value::float_(a - b, range);
    case BinaryOp::Mul: return Value::float_(a * b, range);
    case BinaryOp::Div: return Value::float_(a / b, range);
    case BinaryOp::FloorDiv: return Value::float_(std::floor(a / b), range);
    case BinaryOp::Mod: return Value::float_(a - std::floor(a / b) * b, range);
    case BinaryOp::Pow: return Value::float_(std::pow(a, b), range);
    }
  }

  SymInt a = lhs.integer(), b = rhs.integer();
  auto overflow = [&] {
    error(range, fmt::format("integer overflow: '{}' does not fit in 64 bits", text(range)));
    return Value::invalid();
  };
  std::optional<SymInt> r;
  if (op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Mul) {
    if (op == BinaryOp::Mul && !a.isConstant() && !b.isConstant()) {
      error(range, "the batch size cannot be multiplied by itself");
      return Value::invalid();
    }
    r = op == BinaryOp::Add ? SymInt::add(a, b) : op == BinaryOp::Sub ? SymInt::sub(a, b)
                                                                      : SymInt::mul(a, b);
    return r ? Value::symInt(*r, range) : overflow();
  }
  if (!a.isConstant() || !b.isConstant()) {
    error(range, fmt::format("'{}' on the batch size is not a compile-time constant; only + - * "
                             "by constants are", ast::spelling(op)));
    return Value::invalid();
  }
  int64_t x = a.constant, y = b.constant;
  if (op == BinaryOp::Pow) {
    if (y < 0)
      return Value::float_(std::pow(double(x), double(y)), range);
    std::optional<int64_t> p = power(x, y);
    return p ? Value::integer_(*p, range) : overflow();
  }
  if (y == 0) {
    error(range, "division by zero");
    return Value::invalid();
  }
  if (x == INT64_MIN && y == -1)
    return overflow();
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) { // Python floors
    q -= 1;
    m += y;
  }
  return Value::integer_(op == BinaryOp::FloorDiv ? q : m, range);
}

} // namespace seq::sema

// SymInt: overflow-checked arithmetic on `coeff*N + constant`.
#include "sema/SymInt.h"

namespace seq::sema {

std::optional<SymInt> SymInt::add(SymInt a, SymInt b) {
  SymInt r;
  if (__builtin_add_overflow(a.coeff, b.coeff, &r.coeff) ||
      __builtin_add_overflow(a.constant, b.constant, &r.constant))
    return std::nullopt;
  return r;
}

std::optional<SymInt> SymInt::sub(SymInt a, SymInt b) {
  SymInt r;
  if (__builtin_sub_overflow(a.coeff, b.coeff, &r.coeff) ||
      __builtin_sub_overflow(a.constant, b.constant, &r.constant))
    return std::nullopt;
  return r;
}

std::optional<SymInt> SymInt::mul(SymInt a, SymInt b) {
  if (!a.isConstant() && !b.isConstant())
    return std::nullopt;
  if (!a.isConstant())
    std::swap(a, b);
  // a is a constant k: k * (c*N + d)
  SymInt r;
  if (__builtin_mul_overflow(a.constant, b.coeff, &r.coeff) ||
      __builtin_mul_overflow(a.constant, b.constant, &r.constant))
    return std::nullopt;
  return r;
}

std::string SymInt::str(const std::string &batchName) const {
  if (coeff == 0)
    return std::to_string(constant);
  std::string out = coeff == 1 ? batchName : std::to_string(coeff) + "*" + batchName;
  if (constant > 0)
    out += " + " + std::to_string(constant);
  else if (constant < 0)
    out += " - " + std::to_string(-constant);
  return out;
}

std::string shapeStr(const SymShape &shape, const std::string &batchName) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + shape[i].str(batchName);
  return out + "]";
}

std::optional<SymInt> product(const SymShape &shape) {
  SymInt p = SymInt::of(1);
  for (const SymInt &d : shape) {
    std::optional<SymInt> next = SymInt::mul(p, d);
    if (!next)
      return std::nullopt;
    p = *next;
  }
  return p;
}

} // namespace seq::sema

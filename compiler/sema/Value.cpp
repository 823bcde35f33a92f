// Value: constructors, descriptions and Python-style printing.
#include "sema/Value.h"

#include "sema/Module.h"

#include <fmt/format.h>

#include <cmath>

namespace seq::sema {

Value::Value(const Value &other)
    : range(other.range), kind(other.kind), boolean_value_(other.boolean_value_),
      payload_(other.payload_),
      extra_(other.extra_ ? std::make_unique<Extra>(*other.extra_) : nullptr) {}

Value &Value::operator=(const Value &other) {
  if (this != &other)
    *this = Value(other);
  return *this;
}

Value::Extra &Value::extra() {
  if (!extra_)
    extra_ = std::make_unique<Extra>();
  return *extra_;
}

const Value::Extra &Value::noExtra() {
  static const Extra empty;
  return empty;
}

const std::string &Value::str() const { return (extra_ ? *extra_ : noExtra()).str; }
const std::vector<Value> &Value::items() const { return (extra_ ? *extra_ : noExtra()).items; }
const std::vector<std::string> &Value::keys() const { return (extra_ ? *extra_ : noExtra()).keys; }
SourceRange Value::origin() const { return extra_ ? extra_->origin : SourceRange{}; }
const std::string &Value::originNote() const { return (extra_ ? *extra_ : noExtra()).originNote; }

void Value::setStr(std::string s) { extra().str = std::move(s); }
std::vector<Value> &Value::mutableItems() { return extra().items; }
std::vector<std::string> &Value::mutableKeys() { return extra().keys; }

void Value::setOrigin(SourceRange origin, std::string note) {
  extra().origin = origin;
  extra().originNote = std::move(note);
}

Value Value::none(SourceRange r) {
  Value v;
  v.kind = Kind::None;
  v.range = r;
  return v;
}

Value Value::boolean_(bool b, SourceRange r) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean_value_ = b;
  v.range = r;
  return v;
}

Value Value::integer_(int64_t i, SourceRange r) { return symInt(SymInt::of(i), r); }

Value Value::symInt(SymInt i, SourceRange r) {
  Value v;
  v.kind = Kind::Int;
  v.payload_.constant = i.constant;
  if (i.coeff != 0)
    v.extra().batchCoeff = i.coeff;
  v.range = r;
  return v;
}

Value Value::float_(double f, SourceRange r) {
  Value v;
  v.kind = Kind::Float;
  v.payload_.number = f;
  v.range = r;
  return v;
}

Value Value::string(std::string s, SourceRange r) {
  Value v;
  v.kind = Kind::Str;
  if (!s.empty())
    v.setStr(std::move(s));
  v.range = r;
  return v;
}

Value Value::tuple(std::vector<Value> items, SourceRange r) {
  Value v;
  v.kind = Kind::Tuple;
  if (!items.empty())
    v.mutableItems() = std::move(items);
  v.range = r;
  return v;
}

Value Value::list(std::vector<Value> items, SourceRange r) {
  Value v = tuple(std::move(items), r);
  v.kind = Kind::List;
  return v;
}

Value Value::moduleRef(ModuleInst *m, SourceRange r) {
  Value v;
  v.kind = Kind::Module;
  v.payload_.module = m;
  v.range = r;
  return v;
}

Value Value::tensorRef(int id, SourceRange r) {
  Value v;
  v.kind = Kind::Tensor;
  v.payload_.tensor = id;
  v.range = r;
  return v;
}

Value Value::callable(std::string name, SourceRange r) {
  Value v;
  v.kind = Kind::Callable;
  v.setStr(std::move(name));
  v.range = r;
  return v;
}

bool Value::isIntTuple(size_t size) const {
  if ((kind != Kind::Tuple && kind != Kind::List) || items().size() != size)
    return false;
  for (const Value &item : items())
    if (!item.isConstInt())
      return false;
  return true;
}

std::string describe(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Invalid: return "an invalid value";
  case Value::Kind::None: return "None";
  case Value::Kind::Bool: return "a bool";
  case Value::Kind::Int: return "an int";
  case Value::Kind::Float: return "a float";
  case Value::Kind::Str: return "a string";
  case Value::Kind::Tuple: return "a tuple";
  case Value::Kind::List: return "a list";
  case Value::Kind::Module: return fmt::format("module '{}'", v.module()->className());
  case Value::Kind::Tensor: return "a tensor";
  case Value::Kind::Callable:
    return fmt::format("{} '{}'", v.items().empty() ? "the class" : "a partial of", v.str());
  }
  return "a value";
}

std::string pythonFloat(double d) {
  if (std::isnan(d))
    return "nan";
  if (std::isinf(d))
    return d > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".en") == std::string::npos)
    s += ".0";
  return s;
}

static std::string sequence(const Value &v, bool repr) {
  std::string out;
  for (size_t i = 0; i < v.items().size(); ++i)
    out += (i ? ", " : "") + pythonRepr(v.items()[i]);
  if (v.kind == Value::Kind::List)
    return "[" + out + "]";
  return "(" + out + (v.items().size() == 1 ? ",)" : ")");
}

std::string pythonStr(const Value &v) {
  switch (v.kind) {
  case Value::Kind::None: return "None";
  case Value::Kind::Bool: return v.boolean() ? "True" : "False";
  case Value::Kind::Int: return v.integer().str();
  case Value::Kind::Float: return pythonFloat(v.number());
  case Value::Kind::Str: return v.str();
  case Value::Kind::Tuple:
  case Value::Kind::List: return sequence(v, false);
  default: return describe(v);
  }
}

std::string pythonRepr(const Value &v) {
  if (v.kind == Value::Kind::Str) {
    const std::string &s = v.str();
    char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
    return quote + s + quote;
  }
  return pythonStr(v);
}

} // namespace seq::sema

// Value: constructors, descriptions and Python-style printing.
#include "sema/Value.h"

#include "sema/Module.h"

#include <fmt/format.h>

#include <cmath>

namespace seq::sema {

Value Value::none(SourceRange r) {
  Value v;
  v.kind = Kind::None;
  v.range = r;
  return v;
}

Value Value::boolean_(bool b, SourceRange r) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  v.range = r;
  return v;
}

Value Value::integer_(int64_t i, SourceRange r) { return symInt(SymInt::of(i), r); }

Value Value::symInt(SymInt i, SourceRange r) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  v.range = r;
  return v;
}

Value Value::float_(double f, SourceRange r) {
  Value v;
  v.kind = Kind::Float;
  v.number = f;
  v.range = r;
  return v;
}

Value Value::string(std::string s, SourceRange r) {
  Value v;
  v.kind = Kind::Str;
  v.str = std::move(s);
  v.range = r;
  return v;
}

Value Value::tuple(std::vector<Value> items, SourceRange r) {
  Value v;
  v.kind = Kind::Tuple;
  v.items = std::move(items);
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
  v.module = m;
  v.range = r;
  return v;
}

Value Value::tensorRef(int id, SourceRange r) {
  Value v;
  v.kind = Kind::Tensor;
  v.tensor = id;
  v.range = r;
  return v;
}

Value Value::callable(std::string name, SourceRange r) {
  Value v;
  v.kind = Kind::Callable;
  v.str = std::move(name);
  v.range = r;
  return v;
}

bool Value::isIntTuple(size_t size) const {
  if ((kind != Kind::Tuple && kind != Kind::List) || items.size() != size)
    return false;
  for (const Value &item : items)
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
  case Value::Kind::Module: return fmt::format("module '{}'", v.module->className);
  case Value::Kind::Tensor: return "a tensor";
  case Value::Kind::Callable:
    return fmt::format("{} '{}'", v.items.empty() ? "the class" : "a partial of", v.str);
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
  for (size_t i = 0; i < v.items.size(); ++i)
    out += (i ? ", " : "") + pythonRepr(v.items[i]);
  if (v.kind == Value::Kind::List)
    return "[" + out + "]";
  return "(" + out + (v.items.size() == 1 ? ",)" : ")");
}

std::string pythonStr(const Value &v) {
  switch (v.kind) {
  case Value::Kind::None: return "None";
  case Value::Kind::Bool: return v.boolean ? "True" : "False";
  case Value::Kind::Int: return v.integer.str();
  case Value::Kind::Float: return pythonFloat(v.number);
  case Value::Kind::Str: return v.str;
  case Value::Kind::Tuple:
  case Value::Kind::List: return sequence(v, false);
  default: return describe(v);
  }
}

std::string pythonRepr(const Value &v) {
  if (v.kind == Value::Kind::Str) {
    char quote = v.str.find('\'') != std::string::npos && v.str.find('"') == std::string::npos ? '"' : '\'';
    return quote + v.str + quote;
  }
  return pythonStr(v);
}

} // namespace seq::sema

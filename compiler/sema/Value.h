// Value: what an expression evaluates to at compile time: a constant, a
// tuple or list, a module instance, or (in `forward`) a tensor of the trace.
// `Invalid` stands for a value whose error was already reported: every
// operation on it yields Invalid again, silently, so one mistake is
// reported once.
#pragma once

#include "basic/SourceManager.h"
#include "sema/SymInt.h"

#include <string>
#include <vector>

namespace seq::sema {

struct ModuleInst;

struct Value {
  // Callable: a layer, container, user module or helper by name,
  // unconstructed (`norm_layer=BatchNorm2d`), or a partial(...) of one.
  enum class Kind { Invalid, None, Bool, Int, Float, Str, Tuple, List, Module, Tensor, Callable };
  Kind kind = Kind::Invalid;
  bool boolean = false;
  SymInt integer;
  double number = 0;
  std::string str;
  std::vector<Value> items; // Tuple, List; Callable: partial's arguments
  std::vector<std::string> keys; // Callable: partial's keywords ("" for positional)
  ModuleInst *module = nullptr;
  int tensor = -1;          // a TraceValue id
  SourceRange range;        // where it was written, for diagnostics
  // None: where it came from (the argument that gave a `module` parameter
  // None, the `if` that skipped a child) and a note saying so; kept when
  // the value is copied to another place.
  SourceRange origin;
  std::string originNote;

  static Value invalid() { return {}; }
  static Value none(SourceRange r = {});
  static Value boolean_(bool b, SourceRange r = {});
  static Value integer_(int64_t i, SourceRange r = {});
  static Value symInt(SymInt i, SourceRange r = {});
  static Value float_(double f, SourceRange r = {});
  static Value string(std::string s, SourceRange r = {});
  static Value tuple(std::vector<Value> items, SourceRange r = {});
  static Value list(std::vector<Value> items, SourceRange r = {});
  static Value moduleRef(ModuleInst *m, SourceRange r = {});
  static Value tensorRef(int id, SourceRange r = {});
  static Value callable(std::string name, SourceRange r = {});

  bool isInvalid() const { return kind == Kind::Invalid; }
  bool isConstInt() const { return kind == Kind::Int && integer.isConstant(); }
  int64_t asInt() const { return integer.constant; }
  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
  double asDouble() const { return kind == Kind::Int ? double(integer.constant) : number; }
  // A tuple or list whose elements are all constant ints.
  bool isIntTuple(size_t size) const;
};

// "int", "float", "tuple", "module 'Conv2d'", "tensor": for messages.
std::string describe(const Value &v);
// Python's str()/repr() of a constant, as PyTorch's reprs print it:
// 1e-05, 0.1, 1.0, True, None, (5, 5), 'none' (repr) or none (str).
std::string pythonStr(const Value &v);
std::string pythonRepr(const Value &v);
std::string pythonFloat(double d);

} // namespace seq::sema

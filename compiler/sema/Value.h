// Value: what an expression evaluates to at compile time: a constant, a
// tuple or list, a module instance, or (in `forward`) a tensor of the trace.
// `Invalid` stands for a value whose error was already reported: every
// operation on it yields Invalid again, silently, so one mistake is
// reported once.
//
// A Value is small (32 bytes; tests/unit/sema_value_test.cpp holds it to
// that): a layer keeps one per argument for the life of the model, so a
// deep model holds hundreds of thousands. The kind, the range and a scalar
// payload (bool, int, float, module or tensor) are inline; the rarer parts
// (a string, items, keywords, a None's origin, the batch coefficient of an
// int such as 2*N) live in one block behind a pointer, made when first set
// and copied with the value.
#pragma once

#include "basic/SourceManager.h"
#include "sema/SymInt.h"

#include <memory>
#include <string>
#include <vector>

namespace seq::sema {

struct ModuleInst;

class Value {
public:
  // Callable: a layer, container, user module or helper by name,
  // unconstructed (`norm_layer=BatchNorm2d`), or a partial(...) of one.
  enum class Kind : uint8_t { Invalid, None, Bool, Int, Float, Str, Tuple, List, Module, Tensor, Callable };

  SourceRange range;        // where it was written, for diagnostics
  // Set by the constructors below; may change only between Tuple and List.
  Kind kind = Kind::Invalid;

  Value() = default;
  Value(const Value &other);
  Value(Value &&other) noexcept = default;
  Value &operator=(const Value &other);
  Value &operator=(Value &&other) noexcept = default;
  ~Value() = default;

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

  // The payload of each kind; a value of another kind gives false, 0,
  // 0.0, null, -1 or empty.
  bool boolean() const { return boolean_value_; }
  SymInt integer() const;
  double number() const { return kind == Kind::Float ? payload_.number : 0; }
  ModuleInst *module() const { return kind == Kind::Module ? payload_.module : nullptr; }
  int tensor() const { return kind == Kind::Tensor ? payload_.tensor : -1; }
  // Str: the string; Callable: the name; a List built by OrderedDict(...)
  // or a slice of a Sequential: that class name.
  const std::string &str() const;
  const std::vector<Value> &items() const; // Tuple, List; Callable: partial's arguments
  const std::vector<std::string> &keys() const; // Callable: partial's keywords ("" for positional)
  // None: where it came from (the argument that gave a `module` parameter
  // None, the `if` that skipped a child) and a note saying so; kept when
  // the value is copied to another place.
  SourceRange origin() const;
  const std::string &originNote() const;

  void setStr(std::string s);
  std::vector<Value> &mutableItems();
  std::vector<std::string> &mutableKeys();
  void setOrigin(SourceRange origin, std::string note);

  bool isInvalid() const { return kind == Kind::Invalid; }
  bool isConstInt() const { return kind == Kind::Int && integer().isConstant(); }
  int64_t asInt() const { return integer().constant; }
  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
  double asDouble() const { return kind == Kind::Int ? double(payload_.constant) : number(); }
  // A tuple or list whose elements are all constant ints.
  bool isIntTuple(size_t size) const;

private:
  struct Extra;
  Extra &extra();
  static const Extra &noExtra();

  bool boolean_value_ = false;
  union Payload {
    int64_t constant = 0; // Int: its constant term
    double number;
    ModuleInst *module;
    int tensor;
  } payload_;
  std::unique_ptr<Extra> extra_; // null until a string, item, key or origin is set
};

struct Value::Extra {
  int64_t batchCoeff = 0; // Int: N's coefficient
  std::string str;
  std::vector<Value> items;
  std::vector<std::string> keys;
  SourceRange origin;
  std::string originNote;
};

inline SymInt Value::integer() const {
  if (kind != Kind::Int)
    return {};
  return {extra_ ? extra_->batchCoeff : 0, payload_.constant};
}

// "int", "float", "tuple", "module 'Conv2d'", "tensor": for messages.
std::string describe(const Value &v);
// Python's str()/repr() of a constant, as PyTorch's reprs print it:
// 1e-05, 0.1, 1.0, True, None, (5, 5), 'none' (repr) or none (str).
std::string pythonStr(const Value &v);
std::string pythonRepr(const Value &v);
std::string pythonFloat(double d);

} // namespace seq::sema

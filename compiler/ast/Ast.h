// Ast: the syntax tree of a .seq file. Every node carries its source range.
// Nodes are owned through unique_ptr; kinds allow a cheap `as<T>()`.
#pragma once

#include "basic/SourceManager.h"

#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seq::ast {

// ---- Expressions -----------------------------------------------------------

enum class ExprKind : uint8_t {
  Name, Int, Float, String, Bool, None, Unary, Binary, Call, Attribute, Index, Slice,
  Ellipsis, Tuple, List, Comprehension, Compare, Not, BoolOp, Ternary, FString, Star
};

// Expression and statement nodes come from a pool of blocks, by size
// (NodePool.cpp): a deep model has hundreds of thousands, and malloc would
// add 8 to 24 bytes to each of these 16- to 48-byte nodes.
struct PooledNode {
  static void *operator new(size_t size);
  static void operator delete(void *p, size_t size) noexcept;
};

// An expression node has no vtable (8 bytes a node: a deep model's layer
// is four of them): `delete` dispatches on `kind` to the node's own
// destructor and size (Expr's destroying operator delete, NodePool.cpp).
// The base is 16 bytes: the kind, a flag, 16 bits of payload a literal or
// name keeps inline, and the range.
struct Expr : PooledNode {
  explicit Expr(ExprKind kind, SourceRange range, bool flag = false)
      : kind(kind), flags_(flag ? kFlag : 0), range(range) {}
  static void operator delete(Expr *e, std::destroying_delete_t);
  using PooledNode::operator delete;
  const ExprKind kind;

protected:
  // kFlag: a literal's flag (IntExpr::tooLarge, FloatExpr::outOfRange);
  // kWide: an IntExpr or NameExpr whose payload did not fit in `small_`
  // (it is the larger WideIntExpr or WideNameExpr).
  static constexpr uint8_t kFlag = 1, kWide = 2;
  uint8_t flags_;
  uint16_t small_ = 0; // IntExpr: its value; NameExpr: its name's size

public:
  SourceRange range;

  template <typename T> const T *as() const {
    return kind == T::Kind ? static_cast<const T *>(this) : nullptr;
  }
};
using ExprPtr = std::unique_ptr<Expr>;

// 24 bytes: a deep model has a name per layer. Made by make(): a name of
// 64 KiB or more is a WideNameExpr.
struct NameExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Name;
  // `name` must be the file's own text (SourceManager keeps a file's text
  // at one address for as long as the AST lives), as Arg's keyword is.
  static std::unique_ptr<NameExpr> make(SourceRange r, std::string_view name);
  std::string_view name() const;

protected:
  NameExpr(SourceRange r, const char *data) : Expr(Kind, r), data_(data) {}
  const char *data_;
};

struct WideNameExpr : NameExpr {
  WideNameExpr(SourceRange r, std::string_view name) : NameExpr(r, name.data()), size(name.size()) {
    flags_ |= kWide;
  }
  size_t size;
};

inline std::string_view NameExpr::name() const {
  return {data_, flags_ & kWide ? static_cast<const WideNameExpr *>(this)->size : small_};
}

// 16 bytes for a value that fits in 16 bits (Linear(8, 8) has two), 24
// (a WideIntExpr) for others. Made by make().
struct IntExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Int;
  static std::unique_ptr<IntExpr> make(SourceRange r, int64_t value, bool tooLarge = false);
  int64_t value() const;
  bool tooLarge() const { return flags_ & kFlag; } // reported by the parser; evaluates to an invalid value

protected:
  IntExpr(SourceRange r, bool tooLarge) : Expr(Kind, r, tooLarge) {}
};

struct WideIntExpr : IntExpr {
  WideIntExpr(SourceRange r, int64_t value, bool tooLarge) : IntExpr(r, tooLarge), wide(value) {
    flags_ |= kWide;
  }
  int64_t wide;
};

inline int64_t IntExpr::value() const {
  return flags_ & kWide ? static_cast<const WideIntExpr *>(this)->wide : int16_t(small_);
}

struct FloatExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Float;
  FloatExpr(SourceRange r, double value, bool outOfRange = false)
      : Expr(Kind, r, outOfRange), value(value) {}
  double value;
  bool outOfRange() const { return flags_ & kFlag; } // reported by the parser; evaluates to an invalid value
};

struct StringExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::String;
  StringExpr(SourceRange r, std::string value) : Expr(Kind, r), value(std::move(value)) {}
  std::string value;
};

struct BoolExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Bool;
  BoolExpr(SourceRange r, bool value) : Expr(Kind, r), value(value) {}
  bool value;
};

struct NoneExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::None;
  explicit NoneExpr(SourceRange r) : Expr(Kind, r) {}
};

struct UnaryExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Unary;
  UnaryExpr(SourceRange r, char op, ExprPtr operand)
      : Expr(Kind, r), op(op), operand(std::move(operand)) {}
  char op; // '-' or '+'
  ExprPtr operand;
};

enum class BinaryOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
const char *spelling(BinaryOp op);

struct BinaryExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Binary;
  BinaryExpr(SourceRange r, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind, r), op(op), lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  BinaryOp op;
  ExprPtr lhs, rhs;
};

struct Comprehension;

// `a < b <= c`, `x is None`, `k not in d`: operands[i] ops[i] operands[i+1].
enum class CompareOp { Lt, Gt, Eq, Ge, Le, Ne, Is, IsNot, In, NotIn };
const char *spelling(CompareOp op);

struct CompareExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Compare;
  CompareExpr(SourceRange r, std::vector<CompareOp> ops, std::vector<ExprPtr> operands)
      : Expr(Kind, r), ops(std::move(ops)), operands(std::move(operands)) {}
  std::vector<CompareOp> ops;
  std::vector<ExprPtr> operands;
};

struct NotExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Not;
  NotExpr(SourceRange r, ExprPtr operand) : Expr(Kind, r), operand(std::move(operand)) {}
  ExprPtr operand;
};

// `a and b`, `a or b`, with Python's short circuit.
struct BoolOpExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::BoolOp;
  BoolOpExpr(SourceRange r, bool isAnd, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind, r), isAnd(isAnd), lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  bool isAnd;
  ExprPtr lhs, rhs;
};

// `then if cond else otherwise`.
struct TernaryExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Ternary;
  TernaryExpr(SourceRange r, ExprPtr then, ExprPtr cond, ExprPtr otherwise)
      : Expr(Kind, r), then(std::move(then)), cond(std::move(cond)), otherwise(std::move(otherwise)) {}
  ExprPtr then, cond, otherwise;
};

// f"block{i + 1}-{j}": literal text and fields, in order. A part with a
// null `field` is literal text.
struct FStringPart {
  std::string text;
  std::unique_ptr<Expr> field;
};

struct FStringExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::FString;
  FStringExpr(SourceRange r, std::vector<FStringPart> parts) : Expr(Kind, r), parts(std::move(parts)) {}
  std::vector<FStringPart> parts;
};

// `*layers` in a call: Python's unpacking, reported by the checker with the
// .seq form.
struct StarExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Star;
  StarExpr(SourceRange r, ExprPtr operand) : Expr(Kind, r), operand(std::move(operand)) {}
  ExprPtr operand;
};

// One argument of a call: positional (`name()` empty) or keyword. 8
// bytes: a Sequential of 100,000 layers has as many arguments, and so
// does each layer's call. A positional argument is its value's pointer;
// a keyword one points (its low bit set: nodes are 8-byte aligned) to a
// node of its own holding the keyword and the value. Its range is its
// value's, from its keyword on if it has one (the parsers make every
// argument so: tests/unit/parse_direct_test.cpp checks it).
class Arg {
public:
  Arg() = default;
  Arg(Arg &&other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  Arg &operator=(Arg &&other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = other.ptr_;
      other.ptr_ = nullptr;
    }
    return *this;
  }
  ~Arg() { reset(); }

  // The value; null until set.
  Expr *value() const {
    const Keyword *k = keyword();
    return k ? k->value.get() : positional();
  }
  void setValue(ExprPtr value);

  // The whole argument, `name=value` included.
  SourceRange range() const {
    const Keyword *k = keyword();
    return k ? SourceRange{k->value->range.file, k->begin, k->value->range.end} : positional()->range;
  }
  // The keyword, or "".
  std::string_view name() const {
    const Keyword *k = keyword();
    return k ? std::string_view(k->data, k->size) : std::string_view();
  }
  // The keyword's range; empty for a positional argument.
  SourceRange nameRange() const {
    const Keyword *k = keyword();
    return k ? SourceRange{k->value->range.file, k->begin, k->begin + k->size} : SourceRange{};
  }
  // `name` must be the file's own text at `range` (SourceManager keeps a
  // file's text at one address for as long as the AST lives), the start of
  // the argument. Keeps the value set before, if any.
  void setName(std::string_view name, SourceRange range);

private:
  struct Keyword : PooledNode {
    ExprPtr value;
    const char *data;
    uint32_t size, begin;
  };
  bool isKeyword() const { return reinterpret_cast<uintptr_t>(ptr_) & 1; }
  const Keyword *keyword() const {
    return isKeyword() ? reinterpret_cast<const Keyword *>(static_cast<const char *>(ptr_) - 1) : nullptr;
  }
  Keyword *keyword() { return isKeyword() ? reinterpret_cast<Keyword *>(static_cast<char *>(ptr_) - 1) : nullptr; }
  Expr *positional() const { return static_cast<Expr *>(ptr_); } // when keyword() is null
  void reset();
  void *ptr_ = nullptr; // an Expr, or a Keyword's address + 1
};

// The arguments of a call, in one array from the node pool (NodePool.cpp;
// its own allocation under AddressSanitizer): 8 bytes, so that a layer's
// CallExpr is 32. The array's address (8-byte aligned) carries the count
// in its low 3 bits, 1 to 6 (Linear(8, 8)'s 2), or 7: the count is then in
// the word before the array (a Sequential of 100,000 layers'); null when
// empty.
class ArgList {
public:
  ArgList() = default;
  explicit ArgList(std::vector<Arg> &&args);
  ArgList(ArgList &&other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  ArgList &operator=(ArgList &&other) noexcept;
  ArgList(const ArgList &) = delete;
  ArgList &operator=(const ArgList &) = delete;
  ~ArgList() { clear(); }

  size_t size() const {
    size_t tag = tagOf();
    return tag == kLong ? size_t(reinterpret_cast<const uint64_t *>(begin())[-1]) : tag;
  }
  bool empty() const { return ptr_ == nullptr; }
  const Arg *begin() const { return reinterpret_cast<const Arg *>(ptr_ - tagOf()); }
  const Arg *end() const { return begin() + size(); }
  Arg *begin() { return reinterpret_cast<Arg *>(ptr_ - tagOf()); }
  Arg *end() { return begin() + size(); }
  const Arg &operator[](size_t i) const { return begin()[i]; }
  Arg &operator[](size_t i) { return begin()[i]; }
  const Arg &front() const { return begin()[0]; }
  const Arg &back() const { return begin()[size() - 1]; }

private:
  static constexpr size_t kLong = 7;
  size_t tagOf() const { return reinterpret_cast<uintptr_t>(ptr_) & 7; }
  void clear();
  char *ptr_ = nullptr; // the array's address + its tag
};

// 32 bytes: a layer is one CallExpr.
struct CallExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Call;
  CallExpr(SourceRange r, ExprPtr callee, std::vector<Arg> args)
      : Expr(Kind, r), callee(std::move(callee)), args(std::move(args)) {}
  ExprPtr callee;
  ArgList args;
};

struct AttributeExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Attribute;
  AttributeExpr(SourceRange r, ExprPtr object, std::string name, SourceRange nameRange)
      : Expr(Kind, r), object(std::move(object)), name(std::move(name)), nameRange(nameRange) {}
  ExprPtr object;
  std::string name;
  SourceRange nameRange;
};

struct IndexExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Index;
  IndexExpr(SourceRange r, ExprPtr object, ExprPtr index)
      : Expr(Kind, r), object(std::move(object)), index(std::move(index)) {}
  ExprPtr object;
  // An expression, a SliceExpr or an EllipsisExpr; several subscripts
  // (x[:, 0]) are a TupleExpr of them, as in Python.
  ExprPtr index;
};

struct SliceExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Slice;
  SliceExpr(SourceRange r, ExprPtr lo, ExprPtr hi, ExprPtr step)
      : Expr(Kind, r), lo(std::move(lo)), hi(std::move(hi)), step(std::move(step)) {}
  ExprPtr lo, hi, step; // each may be null
};

// `...` in a subscript (x[..., 0]).
struct EllipsisExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Ellipsis;
  explicit EllipsisExpr(SourceRange r) : Expr(Kind, r) {}
};

struct TupleExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Tuple;
  TupleExpr(SourceRange r, std::vector<ExprPtr> elements)
      : Expr(Kind, r), elements(std::move(elements)) {}
  std::vector<ExprPtr> elements;
};

struct ListExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::List;
  ListExpr(SourceRange r, std::vector<ExprPtr> elements)
      : Expr(Kind, r), elements(std::move(elements)) {}
  std::vector<ExprPtr> elements;
};

// `ELEMENT for VAR in ITERABLE`, as a generator argument, `( )` or `[ ]`.
struct ComprehensionExpr : Expr {
  static constexpr ExprKind Kind = ExprKind::Comprehension;
  ComprehensionExpr(SourceRange r, ExprPtr element, std::string var, SourceRange varRange,
                    ExprPtr iterable)
      : Expr(Kind, r), element(std::move(element)), var(std::move(var)), varRange(varRange),
        iterable(std::move(iterable)) {}
  ExprPtr element;
  std::string var;
  SourceRange varRange;
  ExprPtr iterable;
};

// ---- Statements --------------------------------------------------------------

enum class StmtKind { Assign, Expr, Return, For, Forward, If };

struct Stmt : PooledNode {
  explicit Stmt(StmtKind kind, SourceRange range) : kind(kind), range(range) {}
  virtual ~Stmt() = default;
  const StmtKind kind;
  SourceRange range;

  template <typename T> const T *as() const {
    return kind == T::Kind ? static_cast<const T *>(this) : nullptr;
  }
};
using StmtPtr = std::unique_ptr<Stmt>;

// `x = e`, `x += e` (augOp set), `a, b = e` (several targets), and
// `self.x = e` (targetExpr set, `target` empty: reported by the checker).
struct AssignTarget {
  std::string name;
  SourceRange range;
  // A `for` loop's parenthesised group (`(cin, cout)`): name is empty and
  // the element unpacks into these.
  std::vector<AssignTarget> nested;
};

struct AssignStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::Assign;
  AssignStmt(SourceRange r, std::string target, SourceRange targetRange, ExprPtr value)
      : Stmt(Kind, r), target(std::move(target)), targetRange(targetRange),
        value(std::move(value)) {}
  std::string target;          // the single name, or "" when unpacking
  SourceRange targetRange;     // all targets
  ExprPtr value;
  std::optional<BinaryOp> augOp;      // `+=` and friends
  std::vector<AssignTarget> unpack;   // `a, b = ...`
  ExprPtr targetExpr;                 // a target that is not a name
  bool isUnpack() const { return !unpack.empty(); }
};

// `if c { } else if c2 { } else { }`: `orElse` holds the else branch (an
// `else if` is a nested IfStmt there).
struct IfStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::If;
  IfStmt(SourceRange r, ExprPtr cond, std::vector<std::unique_ptr<Stmt>> then,
         std::vector<std::unique_ptr<Stmt>> orElse)
      : Stmt(Kind, r), cond(std::move(cond)), then(std::move(then)), orElse(std::move(orElse)) {}
  ExprPtr cond;
  std::vector<std::unique_ptr<Stmt>> then, orElse;
};

struct ExprStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::Expr;
  ExprStmt(SourceRange r, ExprPtr expr) : Stmt(Kind, r), expr(std::move(expr)) {}
  ExprPtr expr;
};

struct ReturnStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::Return;
  ReturnStmt(SourceRange r, ExprPtr value) : Stmt(Kind, r), value(std::move(value)) {}
  ExprPtr value;
};

struct ForStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::For;
  ForStmt(SourceRange r, std::string var, SourceRange varRange, ExprPtr iterable,
          std::vector<StmtPtr> body)
      : Stmt(Kind, r), var(std::move(var)), varRange(varRange), iterable(std::move(iterable)),
        body(std::move(body)) {}
  std::string var;
  SourceRange varRange;
  ExprPtr iterable;
  std::vector<StmtPtr> body;
  // `for t, c, n, s in cfg` or `for i, (a, b) in ...`: the targets (var is
  // the first name, for dumps); empty for a single name.
  std::vector<AssignTarget> unpack;
};

struct Param {
  std::string name;
  SourceRange range;
};

struct ForwardStmt : Stmt {
  static constexpr StmtKind Kind = StmtKind::Forward;
  ForwardStmt(SourceRange r, std::vector<Param> params, std::vector<StmtPtr> body)
      : Stmt(Kind, r), params(std::move(params)), body(std::move(body)) {}
  std::vector<Param> params;
  std::vector<StmtPtr> body;
};

// ---- Definitions ---------------------------------------------------------------

// A parameter's type: `int`, `(int, int)`, or a tensor shape `f32[N, 3]`.
struct TypeExpr {
  enum class Kind { Named, Tuple, Shape, None } kind = Kind::Named; // None: untyped (`def`)
  SourceRange range;
  std::string name;                // Named: int/float/bool/str/module; Shape: element type or ""
  std::vector<TypeExpr> elements;  // Tuple
  std::vector<ExprPtr> dims;       // Shape
};

struct DefParam {
  std::string name;
  SourceRange nameRange;
  TypeExpr type;
  ExprPtr defaultValue; // may be null
};

struct Definition {
  bool isModel = false;
  bool isDef = false;         // a `def` helper
  std::string name;
  SourceRange nameRange;
  SourceRange range;
  std::vector<DefParam> params;
  ExprPtr expr;               // the `= MODULE_EXPR` form
  std::vector<StmtPtr> body;  // the `{ BODY }` form; with `expr`: the container's forward
  bool hasBody = false;
};

struct File {
  FileId id = 0;
  std::vector<std::unique_ptr<Definition>> definitions;
};

} // namespace seq::ast

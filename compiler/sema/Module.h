// Module: the checked model tree and its traced forward pass: what Sema
// hands to the printer, the summary and the lowering.
//
// A ModuleInst is one instantiated module, as an nn.Module object would be:
// a built-in layer with its bound arguments, a container, or a user module
// with children and a forward. The Trace is the forward pass of a model
// unrolled into a graph of tensor operations with checked shapes.
#pragma once

#include "ast/Ast.h"
#include "ir/Graph.h"
#include "sema/SymInt.h"
#include "sema/Value.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace seq::sema {

struct LayerSpec;

// Strings that live as long as their owner, packed in blocks: a deep
// model's module paths ("0" to "99999") without a 32-byte std::string each.
class TextArena {
public:
  // At a multiple of `align` (a power of 2, at most 16).
  std::string_view copy(std::string_view s, size_t align = 1);

private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0, size_ = 0;
};

// A child's name in 8 bytes: up to 7 characters ("0" to "9999999", "conv1",
// "fc") inline, longer ones in a string of their own. A deep Sequential
// has one per layer; a std::string would be 32 bytes. Reads as a
// string_view of itself (valid while it is neither changed nor moved).
class ChildName {
public:
  ChildName() { setInline({}); }
  ChildName(std::string_view s) { set(s); }
  ChildName(const std::string &s) : ChildName(std::string_view(s)) {}
  ChildName(const char *s) : ChildName(std::string_view(s)) {}
  ChildName(const ChildName &other) : ChildName(other.view()) {}
  ChildName(ChildName &&other) noexcept : bits_(other.bits_) { other.setInline({}); }
  ChildName &operator=(const ChildName &other);
  ChildName &operator=(ChildName &&other) noexcept;
  ~ChildName() { release(); }

  std::string_view view() const;
  operator std::string_view() const { return view(); }
  operator std::string() const { return str(); }
  std::string str() const { return std::string(view()); }
  bool empty() const { return view().empty(); }
  friend bool operator==(const ChildName &a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const ChildName &a, const ChildName &b) { return a.view() == b.view(); }
  friend bool operator==(const ChildName &a, const char *b) { return a.view() == b; }
  friend bool operator==(const ChildName &a, const std::string &b) { return a.view() == b; }
  friend std::string operator+(const std::string &a, const ChildName &b) { return a + b.str(); }
  friend std::string operator+(const ChildName &a, const std::string &b) { return a.str() + b; }
  friend std::string operator+(const ChildName &a, const char *b) { return a.str() + b; }
  friend std::string operator+(const char *a, const ChildName &b) { return a + b.str(); }

private:
  // Inline: the low byte is size * 2 + 1 (odd; a pointer from new is
  // even), the other 7 are the text. Otherwise: an owned std::string *.
  static constexpr size_t kInline = sizeof(uintptr_t) - 1;
  void set(std::string_view s);
  void setInline(std::string_view s);
  void release();
  bool isInline() const { return bits_ & 1; }
  uintptr_t bits_;
};

// A parameter's name in 24 bits: its index in a table of every name bound
// so far in the process, each copied there once and kept (the layers' and
// functions' parameters, the user's: a few hundred in a compiler run).
namespace paramnames {
uint32_t intern(std::string_view name);
const char *name(uint32_t id); // NUL-terminated, lives as long as the process
} // namespace paramnames

// One argument of a built-in layer or function after binding (48 bytes: a
// deep model keeps hundreds of thousands).
struct BoundArg {
  BoundArg() : nameId_(0), given(false) {}
  // `name` is copied into the table (once).
  BoundArg(std::string_view name, Value value, bool given, SourceRange range)
      : value(std::move(value)), range(range), nameId_(paramnames::intern(name)), given(given) {}
  BoundArg(const char *name, Value value, bool given, SourceRange range)
      : BoundArg(std::string_view(name), std::move(value), given, range) {}
  BoundArg(const std::string &name, Value value, bool given, SourceRange range)
      : BoundArg(std::string_view(name), std::move(value), given, range) {}
  // A name paramnames::intern() gave.
  BoundArg(uint32_t nameId, Value value, bool given, SourceRange range)
      : value(std::move(value)), range(range), nameId_(nameId), given(given) {}

  // The parameter's, as ParamSpec::name.
  const char *name() const { return paramnames::name(nameId_); }
  uint32_t nameId() const { return nameId_; }

  Value value;
  // The argument as written; a default's is the call's (rangeOf() says
  // so; a layer's shared defaults have none of their own).
  SourceRange range;

private:
  uint32_t nameId_ : 24;

public:
  bool given : 1;         // written by the user (not a default)
};

// A BoundArgs' arguments: the part of a vector's interface that binding
// uses, in 16 bytes (a pointer and 32-bit size and capacity, not a
// vector's three pointers): a layer's module keeps one.
class BoundList {
public:
  BoundList() = default;
  BoundList(std::initializer_list<BoundArg> args) { *this = args; }
  BoundList(const BoundList &other) { *this = other; }
  BoundList(BoundList &&other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  BoundList &operator=(const BoundList &other);
  BoundList &operator=(BoundList &&other) noexcept;
  BoundList &operator=(std::initializer_list<BoundArg> args);
  ~BoundList() { clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  BoundArg *begin() { return data_; }
  BoundArg *end() { return data_ + size_; }
  const BoundArg *begin() const { return data_; }
  const BoundArg *end() const { return data_ + size_; }
  BoundArg &operator[](size_t i) { return data_[i]; }
  const BoundArg &operator[](size_t i) const { return data_[i]; }
  // Room for exactly `n` (a vector may take more).
  void reserve(size_t n);
  void push_back(BoundArg arg);
  // Destroys every argument and frees the storage.
  void clear();

private:
  BoundArg *data_ = nullptr;
  uint32_t size_ = 0, capacity_ = 0;
};

// The arguments of a call. After bind(), `args` holds every parameter in
// order. A layer's module keeps only the arguments given (compact()): the
// others read their defaults from its LayerSpec, shared by every instance
// (a layer's defaults would otherwise be most of a deep model's memory).
struct BoundArgs {
  BoundList args;
  // One per parameter, in order, with its default (LayerSpec::defaults),
  // or null: a parameter missing from `args` takes its value from here.
  const std::vector<BoundArg> *defaults = nullptr;
  SourceRange call;       // the whole constructor call

  // Keeps only the given arguments (and those a rule added), reading the
  // rest from `shared`, which must live as long as this.
  void compact(const std::vector<BoundArg> &shared);
  // Every argument in parameter order, defaults included.
  std::vector<const BoundArg *> all() const;
  const BoundArg *find(std::string_view name) const;
  const Value &get(std::string_view name) const;
  int64_t getInt(std::string_view name) const { return get(name).asInt(); }
  double getFloat(std::string_view name) const { return get(name).asDouble(); }
  bool getBool(std::string_view name) const { return get(name).boolean(); }
  const std::string &getStr(std::string_view name) const { return get(name).str(); }
  // An int or a tuple of `n` ints, as a vector of `n`.
  std::vector<int64_t> getInts(std::string_view name, size_t n) const;
  SourceRange rangeOf(std::string_view name) const;
};

// One module instance (72 bytes: one per layer of a deep model; the
// path's size and the kind fill BoundArgs' tail, and its range is its
// arguments' call).
struct ModuleInst {
  enum class Kind : uint8_t { Layer, Sequential, ModuleList, ModuleDict, User };
  // Layer: its arguments. Every kind: `args.call` is where it was
  // constructed (range()).
  [[no_unique_address]] BoundArgs args;

private:
  // Beside `kind`, in BoundArgs' tail padding; kLongPath: the path is
  // kept with the attributes.
  static constexpr uint32_t kLongPath = (1u << 24) - 1;
  uint32_t pathSize_ : 24 = 0;

public:
  Kind kind : 8 = Kind::User;
  const LayerSpec *layer = nullptr;  // Layer
  // The trace value its first call produced (the summary shows its
  // shape), or -1.
  int output = -1;

  // Where it was constructed: its call, or the call of a definition that
  // renamed it (`module Block(...) = Linear(...)`), kept with its
  // attributes (a layer's call stays its arguments' default range).
  SourceRange range() const {
    return attributes_ && attributes_->range ? *attributes_->range : args.call;
  }
  void setRange(SourceRange range);

  // As print(model) names it: its LayerSpec's or its kind's static name
  // ("Sequential"), or a Definition's (the AST outlives the model), set
  // with its attributes: a layer's own name costs it nothing.
  std::string_view className() const;
  void setClassName(const char *name);
  void setClassName(const std::string &name) { setClassName(name.c_str()); }

  // From the model: "layer1.0"; "" for the model. Kept in the model's
  // CheckedModel::text.
  std::string_view path() const {
    return pathSize_ == kLongPath ? attributes_->longPath : std::string_view(pathData_, pathSize_);
  }
  void setPath(std::string_view path);

  // User, or a container subclass: its forward; User: the module it
  // instantiates. Null for the others.
  const ast::ForwardStmt *forward() const { return attributes_ ? attributes_->forward : nullptr; }
  const ast::Definition *definition() const { return attributes_ ? attributes_->definition : nullptr; }
  void setForward(const ast::ForwardStmt *f) { attributes().forward = f; }
  void setDefinition(const ast::Definition *d) { attributes().definition = d; }

  // User: parameters and constant attributes.
  const std::map<std::string, Value> &constants() const;
  std::map<std::string, Value> &mutableConstants();
  // Children this instantiation did not create: assigned only in a branch
  // not taken (the range of its condition) or assigned None.
  const std::map<std::string, SourceRange> &absent() const;
  std::map<std::string, SourceRange> &mutableAbsent();

  // A container's or user module's children, in registration order (kept
  // with its attributes: a layer has none).
  using Children = std::vector<std::pair<ChildName, ModuleInst *>>;
  const Children &children() const;
  Children &mutableChildren();
  ModuleInst *child(std::string_view name) const;
  bool isContainer() const { return kind != Kind::Layer && kind != Kind::User; }

private:
  // A user module's forward, definition, constants and absent children, a
  // container's or user module's children, a class name other than the
  // layer's or the kind's, made when first set: a layer has none, and
  // they would cost it 160 bytes.
  struct Attributes {
    const char *className = nullptr; // null: the layer's or the kind's
    const ast::ForwardStmt *forward = nullptr;
    const ast::Definition *definition = nullptr;
    std::map<std::string, Value> constants;
    std::map<std::string, SourceRange> absent;
    Children children;
    std::string_view longPath; // of 16 MiB or more
    std::optional<SourceRange> range; // other than args.call
  };
  const char *pathData_ = "";
  std::unique_ptr<Attributes> attributes_;
  Attributes &attributes();
};

// A tensor of the traced forward pass (24 bytes: one per layer call).
struct TraceValue {
  // Interned in Trace::shapes: most layers' shape is their input's.
  const SymShape &shape;
  // Where its shape came from, for notes: "'conv2' produces [N, 64, 28,
  // 28]": an index into Trace::origins (shared with the value it was
  // copied from, as a ReLU's is its input's), or -1.
  int origin : 31;
  bool valid : 1;          // false after an error: later checks stay silent
  SourceRange originRange;
};

// Where a value's shape came from (TraceValue::origin), for notes, in 8
// bytes (a deep model has one per layer's output). A layer module: its
// note, "'conv2' produces [N, 64, 28, 28]", is made when an error needs
// it, from the module and its first output's shape (Checker::newLayerValue
// makes such an origin only for an output of that shape). Otherwise a
// text, NUL-terminated in Trace::originText at an even address (the low
// bit tells the two apart).
class TraceOrigin {
public:
  static TraceOrigin ofModule(const ModuleInst *module) { return TraceOrigin(uintptr_t(module)); }
  static TraceOrigin ofText(const char *text) { return TraceOrigin(uintptr_t(text) | 1); }
  const ModuleInst *module() const { return bits_ & 1 ? nullptr : reinterpret_cast<const ModuleInst *>(bits_); }
  const char *text() const { return bits_ & 1 ? reinterpret_cast<const char *>(bits_ & ~uintptr_t(1)) : nullptr; }

private:
  explicit TraceOrigin(uintptr_t bits) : bits_(bits) {}
  uintptr_t bits_;
};

struct ShapeHash {
  size_t operator()(const SymShape &shape) const;
};

// A node of the trace (136 bytes: one per layer call of a deep model).
struct TraceNode {
  enum class Kind : uint8_t { Layer, Binary, Scalar, View, Concat, Slice, Permute, Reduce };
  Kind kind = Kind::Layer;
  bool scalarOnLeft = false;             // Scalar: `scalar op x`
  ast::BinaryOp op = ast::BinaryOp::Add; // Binary, Scalar
  // Layer: a built-in layer, from the module tree or from a function call
  // such as relu(x) (then `module` is null).
  const LayerSpec *layer = nullptr;
  const ModuleInst *module = nullptr;
  // Layer: its arguments, the module's own or (a function call) kept in
  // Trace::callArgs; a copy per call would cost a deep model a BoundArgs
  // per layer. Read layerArgs().
  const BoundArgs *args = nullptr;
  const BoundArgs &layerArgs() const;
  double scalar = 0;                     // Scalar
  int64_t dim = 0;                       // Concat, Slice (non-negative)
  // Slice: elements start, start+step, ... of `dim` (the output's size
  // there says how many); Permute: `dims` is the permutation; Reduce:
  // `reduce` over `dims` (sorted), each kept as size 1.
  std::vector<int64_t> dims;
  int64_t start = 0, step = 1;
  ir::ReduceKind reduce = ir::ReduceKind::Sum;
  int output = -1;
  std::vector<int> inputs;               // TraceValue ids
  SourceRange range;
};

// Values and nodes grow without moving (a deque): a vector doubling would
// hold 1.5 to 3 times a deep model's trace while it reallocates, and the
// nodes' `args` point into callArgs. Not copyable, for that reason.
struct Trace {
  std::deque<TraceValue> values;
  std::unordered_set<SymShape, ShapeHash> shapes; // each distinct shape once
  std::deque<TraceOrigin> origins;                // of TraceValue::origin
  TextArena originText;                           // TraceOrigin::text
  std::deque<TraceNode> nodes;
  std::deque<BoundArgs> callArgs; // of layers called as functions: relu(x)
  std::vector<int> inputs;   // one per model input
  int output = -1;

  Trace() = default;
  Trace(const Trace &) = delete;
  Trace &operator=(const Trace &) = delete;
  Trace(Trace &&) = default;
  Trace &operator=(Trace &&) = default;
};

struct ModelInput {
  std::string name;
  SymShape shape;            // dims[0] is the batch when `batchName` is set
  std::string batchName;     // "N", or "" for a fixed batch
  SourceRange range;
};

// Owns every ModuleInst of a model, in blocks of about 64 KiB: they never
// move (values and children point to them), and a deque's 512-byte
// chunks would cost each a share of malloc's header and the chunk's tail.
class ModuleArena {
public:
  ModuleInst &emplace_back();
  size_t size() const { return blocks_.empty() ? 0 : (blocks_.size() - 1) * Block::kCapacity + blocks_.back()->used; }

private:
  struct Block {
    static constexpr size_t kCapacity = (65536 - 64) / sizeof(ModuleInst);
    ~Block();
    ModuleInst *at(size_t i) { return reinterpret_cast<ModuleInst *>(storage) + i; }
    size_t used = 0;
    alignas(ModuleInst) unsigned char storage[kCapacity * sizeof(ModuleInst)];
  };
  std::vector<std::unique_ptr<Block>> blocks_;
};

struct CheckedModel {
  std::string name;
  const ast::Definition *definition = nullptr;
  std::vector<ModelInput> inputs;
  ModuleInst *root = nullptr;
  Trace trace;
  ModuleArena arena;              // owns every ModuleInst
  TextArena text;                 // the modules' paths
  bool valid = true;                              // false when errors were found
};

// The state_dict entries of a module tree, in PyTorch's order.
struct ParamEntry {
  std::string name;
  std::vector<int64_t> shape;
  const ModuleInst *owner = nullptr;
  std::string local;         // "weight", "running_mean", ...
};
std::vector<ParamEntry> stateDict(const ModuleInst &root);

} // namespace seq::sema

template <> struct fmt::formatter<seq::sema::ChildName> : fmt::formatter<std::string_view> {
  template <typename Context> auto format(const seq::sema::ChildName &name, Context &ctx) const {
    return fmt::formatter<std::string_view>::format(name.view(), ctx);
  }
};

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

#include <deque>
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
  std::string_view copy(std::string_view s);

private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0, size_ = 0;
};

// One argument of a built-in layer or function after binding (56 bytes: a
// deep model keeps hundreds of thousands).
struct BoundArg {
  // The parameter's, as ParamSpec::name: a static name or the AST's.
  // Compare it with a std::string or string_view, not a literal.
  const char *name;
  Value value;
  bool given = false;     // written by the user (not a default)
  // The argument as written; a default's is the call's (rangeOf() says
  // so; a layer's shared defaults have none of their own).
  SourceRange range;
};

// The arguments of a call. After bind(), `args` holds every parameter in
// order. A layer's module keeps only the arguments given (compact()): the
// others read their defaults from its LayerSpec, shared by every instance
// (a layer's defaults would otherwise be most of a deep model's memory).
struct BoundArgs {
  std::vector<BoundArg> args;
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

// One module instance (112 bytes: one per layer of a deep model; the
// members are ordered so that no padding is left but BoundArgs' own).
struct ModuleInst {
  enum class Kind : uint8_t { Layer, Sequential, ModuleList, ModuleDict, User };
  // The trace value its first call produced (the summary shows its
  // shape), or -1.
  int output = -1;
  SourceRange range;                 // where it was constructed
  // As print(model) names it: a LayerSpec's or container's static name,
  // or a Definition's (the AST outlives the model).
  std::string_view className;
  const LayerSpec *layer = nullptr;  // Layer
  BoundArgs args;                    // Layer
  Kind kind = Kind::User;

  // From the model: "layer1.0"; "" for the model. Kept in the model's
  // CheckedModel::text.
  std::string_view path() const { return {pathData_, pathSize_}; }
  void setPath(std::string_view path) {
    pathData_ = path.data();
    pathSize_ = uint32_t(path.size());
  }

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
  using Children = std::vector<std::pair<std::string, ModuleInst *>>;
  const Children &children() const;
  Children &mutableChildren();
  ModuleInst *child(std::string_view name) const;
  bool isContainer() const { return kind != Kind::Layer && kind != Kind::User; }

private:
  // A user module's forward, definition, constants and absent children, a
  // container's or user module's children, made when first set: a layer
  // has none, and they would cost it 136 bytes.
  struct Attributes {
    const ast::ForwardStmt *forward = nullptr;
    const ast::Definition *definition = nullptr;
    std::map<std::string, Value> constants;
    std::map<std::string, SourceRange> absent;
    Children children;
  };
  uint32_t pathSize_ = 0; // beside `kind`
  const char *pathData_ = "";
  std::unique_ptr<Attributes> attributes_;
  Attributes &attributes();
};

// A tensor of the traced forward pass (32 bytes: one per layer call).
struct TraceValue {
  // Interned in Trace::shapes: most layers' shape is their input's.
  const SymShape &shape;
  // Where its shape came from, for notes: "'conv2' produces [N, 64, 28,
  // 28]": an index into Trace::origins (shared with the value it was
  // copied from, as a ReLU's is its input's), or -1.
  int origin = -1;
  SourceRange originRange;
  bool valid = true;       // false after an error: later checks stay silent
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
  std::deque<std::string_view> origins;           // of TraceValue::origin, in originText
  TextArena originText;
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

struct CheckedModel {
  std::string name;
  const ast::Definition *definition = nullptr;
  std::vector<ModelInput> inputs;
  ModuleInst *root = nullptr;
  Trace trace;
  std::deque<ModuleInst> arena;   // owns every ModuleInst (a deque: they never move)
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

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
#include <vector>

namespace seq::sema {

struct LayerSpec;

// One argument of a built-in layer or function after binding (72 bytes: a
// deep model keeps hundreds of thousands).
struct BoundArg {
  std::string_view name;  // the parameter's: a ParamSpec's static name or the AST's
  Value value;
  bool given = false;     // written by the user (not a default)
  SourceRange range;      // the argument's value, or the call for defaults
};

struct BoundArgs {
  std::vector<BoundArg> args;
  SourceRange call;       // the whole constructor call

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

struct ModuleInst {
  enum class Kind { Layer, Sequential, ModuleList, ModuleDict, User };
  Kind kind = Kind::User;
  std::string className;             // as print(model) names it
  const LayerSpec *layer = nullptr;  // Layer
  BoundArgs args;                    // Layer
  std::vector<std::pair<std::string, ModuleInst *>> children; // in registration order
  const ast::ForwardStmt *forward = nullptr; // User, or a container subclass
  const ast::Definition *definition = nullptr; // User: the module it instantiates
  std::map<std::string, Value> constants;    // User: parameters and constant attributes
  // Children this instantiation did not create: assigned only in a branch
  // not taken (the range of its condition) or assigned None.
  std::map<std::string, SourceRange> absent;
  SourceRange range;                 // where it was constructed
  std::string path;                  // from the model: "layer1.0"; "" for the model
  // The trace value its first call produced (the summary shows its
  // shape), or -1.
  int output = -1;

  ModuleInst *child(std::string_view name) const;
  bool isContainer() const { return kind != Kind::Layer && kind != Kind::User; }
};

// A tensor of the traced forward pass.
struct TraceValue {
  SymShape shape;
  bool valid = true;       // false after an error: later checks stay silent
  // Where its shape came from, for notes: "'conv2' produces [N, 64, 28, 28]".
  std::string origin;
  SourceRange originRange;
};

struct TraceNode {
  enum class Kind { Layer, Binary, Scalar, View, Concat, Slice, Permute, Reduce };
  Kind kind = Kind::Layer;
  // Layer: a built-in layer, from the module tree or from a function call
  // such as relu(x) (then `module` is null and `args` holds its arguments).
  const LayerSpec *layer = nullptr;
  const ModuleInst *module = nullptr;
  // A function call's arguments; a module's stay in the module (a copy per
  // call would cost about 1 KB per layer of a deep model): read layerArgs().
  BoundArgs callArgs;
  bool argsInModule = false; // module->args, not callArgs
  const BoundArgs &layerArgs() const { return argsInModule ? module->args : callArgs; }
  ast::BinaryOp op = ast::BinaryOp::Add; // Binary, Scalar
  double scalar = 0;                     // Scalar
  bool scalarOnLeft = false;             // Scalar: `scalar op x`
  int64_t dim = 0;                       // Concat, Slice (non-negative)
  // Slice: elements start, start+step, ... of `dim` (the output's size
  // there says how many); Permute: `dims` is the permutation; Reduce:
  // `reduce` over `dims` (sorted), each kept as size 1.
  std::vector<int64_t> dims;
  int64_t start = 0, step = 1;
  ir::ReduceKind reduce = ir::ReduceKind::Sum;
  std::vector<int> inputs;               // TraceValue ids
  int output = -1;
  SourceRange range;
};

// Values and nodes grow without moving (a deque): a vector doubling would
// hold 1.5 to 3 times a deep model's trace while it reallocates.
struct Trace {
  std::deque<TraceValue> values;
  std::deque<TraceNode> nodes;
  std::vector<int> inputs;   // one per model input
  int output = -1;
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
  std::vector<std::unique_ptr<ModuleInst>> arena; // owns every ModuleInst
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

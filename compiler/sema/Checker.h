// Checker: the state and the steps of semantic analysis, shared by the
// files of sema/ (internal header).
//
//   Resolve.cpp     definitions, cycles, models, construction-time expressions
//   Construct.cpp   layers, containers, user modules, container methods
//   Body.cpp        module bodies and helpers: statements at construction time
//   Logic.cpp       conditions, comparisons, f-strings, built-in functions
//   Callables.cpp   layers as values, partial(...), calls of helpers
//   Binder.cpp      Python's argument binding and argument types
//   Arithmetic.cpp  compile-time arithmetic
//   Names.cpp       names in messages, suggestions, error notes
//   Forward.cpp     the forward pass: statements, names, calls
//   Functions.cpp   tensor functions and methods: the Functions.def table
//   TensorOps.cpp   layer application, broadcasting, view, cat
//   TensorIndex.cpp indexing a tensor
#pragma once

#include "basic/Limits.h"
#include "sema/Layers.h"
#include "sema/Sema.h"

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace seq::sema {

// An evaluated call argument.
// 72 bytes: a Sequential of 100,000 layers evaluates as many at once.
struct EvalArg {
  // The keyword, or "": the file's text (ast::Arg::name()), a partial's
  // key or a literal, each outliving the call it is an argument of.
  std::string_view name;
  SourceRange nameRange;
  SourceRange range;     // the value as written
  Value value;
};

// A call of a tensor function or method (Functions.def), its tensor first:
// `x.flatten(1)` and `torch.flatten(x, 1)` both have args (x, 1).
struct FunctionCall {
  std::string name;             // as the table names it: "view"
  std::string spelled;          // as written, without a namespace: "reshape"
  std::string self;             // the tensor as written: "x"
  bool method = false;          // x.NAME(...)
  const ast::CallExpr &call;
  std::vector<EvalArg> args;
  std::string_view space = {};  // "F", "torch", or "" (bare or a method)
};

// Names visible while a module is constructed.
struct Scope {
  const Scope *parent = nullptr;
  std::map<std::string, Value> names;
  ModuleInst *owner = nullptr; // the module whose body runs: its children are visible
  // The variables a body assigns (a module's constants, a helper's locals),
  // looked up after `names`.
  std::map<std::string, Value> *vars = nullptr;

  const Value *lookup(const std::string &name) const;
};

// A body being run at construction time: a module's or a helper's.
struct BodyState {
  ModuleInst *module = nullptr;        // null in a helper
  const ast::Definition *def = nullptr;
  std::optional<Value> returned;       // a helper's `return`
};

// The state of one forward pass being traced.
struct Frame {
  ModuleInst *module = nullptr;
  std::map<std::string, Value> locals;
  std::map<std::string, SourceRange> assignedLater; // assigned somewhere in this forward
  std::optional<Value> returned;
  bool helper = false;  // an inlined `def` helper: the module's children are not its names
};

// Names.cpp: whether `object` in `object.Layer(...)` names a module
// namespace of PyTorch or MindSpore ("nn", "torch.nn").
bool isModuleNamespace(std::string_view object);

// Forward.cpp: the names `body` assigns (nested blocks too, loop variables
// not), each with its first assignment.
void collectAssignments(const std::vector<ast::StmtPtr> &body,
                        std::map<std::string, SourceRange> &out);
// Binds each name `blocks` assign to an invalid value in `names`.
void invalidateAssigned(std::initializer_list<const std::vector<ast::StmtPtr> *> blocks,
                        std::map<std::string, Value> &names);

// Functions.cpp: whether `name` may be called bare, as `relu(x)`.
bool isBareFunction(std::string_view name);
// "F" for torch.nn.functional under its spellings, "torch" for torch, else "".
std::string_view functionSpace(std::string_view object);

class Checker {
public:
  Checker(const ast::File &file, const SourceManager &sources, Diagnostics &diags,
          CheckOptions options = {})
      : file_(file), sources_(sources), diags_(diags), options_(options) {}

  std::vector<std::unique_ptr<CheckedModel>> run();

  // ---- Resolve.cpp --------------------------------------------------------
private:
  void collectDefinitions();
  void reportCycles();
  void reportCycle(const std::vector<const ast::Definition *> &cycle, SourceRange use);
  bool closesCycle(const ast::Definition &def, const ast::CallExpr &call);
  std::unique_ptr<CheckedModel> checkModel(const ast::Definition &def);
  void checkModelInputs(const ast::Definition &def, CheckedModel &model);

  Value eval(const ast::Expr &expr, const Scope &scope);
  Value evalName(const ast::NameExpr &name, const Scope &scope);
  Value evalCall(const ast::CallExpr &call, const Scope &scope);
  Value callValue(const ast::CallExpr &call, const Scope &scope);
  Value evalIndex(const Value &object, const ast::IndexExpr &index, const Scope &scope);
  Value evalComprehension(const ast::ComprehensionExpr &comp, const Scope &scope);
  std::vector<EvalArg> evalArgs(const ast::ArgList &args, const Scope &scope);
  Value evalRange(const std::vector<EvalArg> &args, const ast::CallExpr &call);
  bool isBound(const std::string &name, const Scope &scope) const;

  ModuleInst *newModule(ModuleInst::Kind kind, const char *className, SourceRange range);
  Value buildLayer(const LayerSpec &spec, const std::vector<EvalArg> &args, const ast::CallExpr &call);
  Value buildContainer(std::string_view kind, const std::vector<EvalArg> &args,
                       const ast::CallExpr &call);
  Value evalContainer(std::string_view kind, const ast::CallExpr &call, const Scope &scope);
  // argAt(i) gives the i-th of `count` arguments as an EvalArg, once each.
  template <typename ArgAt>
  Value buildContainerFrom(std::string_view kind, size_t count, const ArgAt &argAt,
                           const ast::CallExpr &call);
  Value instantiate(const ast::Definition &def, const std::vector<EvalArg> &args,
                    const ast::CallExpr &call);
  void containerMethod(ModuleInst *target, const std::string &method,
                       const std::vector<EvalArg> &args, const ast::CallExpr &call);
  void addModule(ModuleInst *target, const std::vector<EvalArg> &args, const ast::CallExpr &call);

  // ---- Body.cpp -------------------------------------------------------------
  // False when the module would contain itself (reported).
  bool runBody(ModuleInst *module, const std::vector<ast::StmtPtr> &body, Scope &scope,
               const ast::Definition &def);
  bool containsItself(const ModuleInst *module, const ast::Definition &def);
  void execBody(const std::vector<ast::StmtPtr> &body, Scope &scope, BodyState &state);
  void execBodyStmt(const ast::Stmt &stmt, Scope &scope, BodyState &state);
  void assignBody(const std::string &name, SourceRange range, Value v, Scope &scope,
                  BodyState &state);
  void bodyExprStmt(const ast::ExprStmt &stmt, Scope &scope, BodyState &state);
  void setattrStmt(const ast::CallExpr &call, Scope &scope, BodyState &state);
  void markAbsent(ModuleInst *module, const std::vector<ast::StmtPtr> &skipped, SourceRange cond);
  void invalidateBody(std::initializer_list<const std::vector<ast::StmtPtr> *> blocks, Scope &scope,
                      BodyState &state);
  bool bindLoopVars(const ast::ForStmt &loop, const Value &item,
                    const std::function<void(const std::string &, Value)> &store);
  bool unpackInto(const ast::AssignStmt &assign, const Value &v,
                  const std::function<void(const ast::AssignTarget &, Value)> &store);
  void reportTargetExpr(const ast::AssignStmt &assign, bool inForward);

  // ---- Logic.cpp ------------------------------------------------------------
  using SubEval = std::function<Value(const ast::Expr &)>;
  // Compare, Not, BoolOp, Ternary, FString and Star, in either context.
  Value evalLogic(const ast::Expr &e, const SubEval &sub);
  std::optional<bool> truth(const Value &v, SourceRange range);
  Value compareValues(ast::CompareOp op, const Value &lhs, const Value &rhs, SourceRange range);
  std::optional<Value> callBuiltin(std::string_view name, const std::vector<EvalArg> &args,
                                   const ast::CallExpr &call);

  // ---- Callables.cpp --------------------------------------------------------
  bool isCallableName(const std::string &name) const;
  Value construct(const Value &callable, std::vector<EvalArg> args, const ast::CallExpr &call);
  Value callNone(const Value &none, const ast::CallExpr &call);
  Value makePartial(const std::vector<EvalArg> &args, const ast::CallExpr &call);
  Value callHelper(const ast::Definition &def, const std::vector<EvalArg> &args,
                   const ast::CallExpr &call);
  Value callHelperF(const ast::Definition &def, const std::vector<EvalArg> &args,
                    const ast::CallExpr &call, Frame &frame);
  // What is wrong with a definition's parameter, found once (checkParams).
  enum class ParamFlaw : uint8_t { None, Type, Default };
  const std::vector<ParamFlaw> &checkParams(const ast::Definition &def,
                                            const std::vector<ParamSpec> &params);
  std::optional<BoundArgs> bindDefinition(const ast::Definition &def,
                                          const std::vector<EvalArg> &args, const ast::CallExpr &call);
  void assignPaths(ModuleInst *module, const std::string &path);

  // ---- Binder.cpp -------------------------------------------------------------
  std::optional<BoundArgs> bind(std::string_view what, const std::vector<ParamSpec> &params,
                                const std::vector<EvalArg> &args, SourceRange call);
  bool convert(std::string_view what, const ParamSpec &param, BoundArg &arg);
  // `isDefault`: `arg` is a parameter's default, checked where it is written.
  bool convertToType(std::string_view what, const ast::TypeExpr &type, BoundArg &arg,
                     bool isDefault = false);

  // ---- Forward.cpp ------------------------------------------------------------
  int traceForward(ModuleInst *module, const std::vector<int> &inputs, SourceRange callSite);
  void exec(const std::vector<ast::StmtPtr> &stmts, Frame &frame);
  Value evalF(const ast::Expr &expr, Frame &frame);
  Value evalExprF(const ast::Expr &expr, Frame &frame);
  Value evalNameF(const ast::NameExpr &name, Frame &frame);
  Value evalAttributeF(const ast::AttributeExpr &attr, Frame &frame);
  Value evalIndexF(const ast::IndexExpr &index, Frame &frame);
  // TensorIndex.cpp: x[:, 0], x[..., 1:3], x[:, None].
  Value indexTensor(const Value &tensor, const ast::IndexExpr &index, Frame &frame);
  Value callF(const ast::CallExpr &call, Frame &frame);
  std::vector<EvalArg> evalArgsF(const ast::ArgList &args, Frame &frame);
  Value iterate(const Value &iterable, SourceRange range, std::vector<Value> &items);
  std::optional<Value> callBuiltinF(const std::string &name, const ast::CallExpr &call, Frame &frame);
  Value getSubmodule(const Value &object, const ast::CallExpr &call, Frame &frame);
  Value listMethod(Value &list, const ast::AttributeExpr &attr, const ast::CallExpr &call,
                   Frame &frame);

  // ---- Functions.cpp: tensor functions and methods (Functions.def) -----------
  // `space` is "F", "torch", or "" for a bare name.
  Value callFunction(std::string_view space, std::string_view name, const ast::CallExpr &call,
                     Frame &frame);
  Value callMethod(const Value &tensor, const std::string &method, const ast::CallExpr &call,
                   Frame &frame);
  Value dispatchFunction(FunctionCall &fc);
  Value applyFunctionLayer(const LayerSpec &spec, FunctionCall &fc);
  Value unknownFunction(std::string_view space, std::string_view name, SourceRange range);
  // ShapeFunctions.cpp: a Slice/Permute/Reduce/View node of `fc` making `out`.
  Value shapeNode(TraceNode node, SymShape out, const FunctionCall &fc);
  Value permuted(int x, const SymShape &in, const std::vector<int64_t> &perm, const FunctionCall &fc);
  Value slices(int x, const SymShape &in, int64_t dim, const std::vector<int64_t> &sizes,
               const FunctionCall &fc);
  // A dim of a `rank`-d tensor, negative counting from the end; nullopt
  // (reported at `range`) when out of range.
  std::optional<int64_t> normalizeDim(int64_t dim, int64_t rank, SourceRange range);
  // Reports that `fc` would move, split or reduce the symbolic batch.
  Value batchError(const FunctionCall &fc, int input, std::string_view what);
  std::optional<BoundArgs> bindTensorFunction(FunctionCall &fc, std::vector<ParamSpec> params);
  // cat's and stack's (tensors, dim=0), `tensors` a tuple or list.
  std::optional<BoundArgs> bindTensorSequence(FunctionCall &fc, std::string_view function);
  Value reduceFunction(FunctionCall &fc, ir::ReduceKind kind);
  Value binaryFunction(FunctionCall &fc, ast::BinaryOp op);
#define SEQ_TENSOR_FUNCTION(NAME, HANDLER, FORMS) Value HANDLER(FunctionCall &fc);
#include "sema/Functions.def"

  // ---- TensorOps.cpp ------------------------------------------------------------
  int newValue(SymShape shape, std::string_view origin, SourceRange originRange);
  // The output of a layer module: its origin note is made when needed.
  int newLayerValue(SymShape shape, const ModuleInst *module, SourceRange originRange);
  // A value of `shape` whose origin is value `from`'s (its shape came from there).
  int newValueFrom(SymShape shape, int from);
  bool valueFits(const SymShape &shape, SourceRange originRange);
  int pushValue(SymShape shape, int origin, SourceRange originRange, bool valid);
  // Records a node of the trace (unless options_ say not to keep them).
  void addNode(TraceNode node);
  int invalidValue();
  const TraceValue &tv(int id) const { return model_->trace.values[size_t(id)]; }
  int callModule(ModuleInst *module, const Value &input, SourceRange callSite);
  int applyLayer(const LayerSpec &spec, const ModuleInst *module, const BoundArgs &args,
                 int input, SourceRange callSite, const std::string &who);
  Value binaryTensor(ast::BinaryOp op, const Value &lhs, const Value &rhs, SourceRange range);
  Value view(const Value &tensor, const std::vector<EvalArg> &args, const FunctionCall &fc);
  Value flatten(const Value &tensor, int64_t start, int64_t end, const ast::CallExpr &call);
  Value concat(const std::vector<Value> &tensors, int64_t dim, const ast::CallExpr &call);
  void noteOrigin(Diagnostic &d, int value);

  // ---- Shared helpers (Resolve.cpp) -------------------------------------------
public:
  Value arithmetic(ast::BinaryOp op, const Value &lhs, const Value &rhs, SourceRange range);
  std::optional<Value> sequenceArithmetic(ast::BinaryOp op, const Value &lhs, const Value &rhs,
                                          SourceRange range);
  Diagnostic &error(std::optional<SourceRange> range, std::string message);
  std::string text(SourceRange range) const; // whitespace collapsed
  std::string display(SourceRange call) const { return displayOf(std::string(sources_.text(call))); }
  // A call as messages name it: whitespace collapsed, no `nn.` prefix,
  // long argument lists abbreviated: "BatchNorm2d(32)", "Conv2d(32, 64, ...)".
  static std::string displayOf(const std::string &source);
  static std::string collapseWhitespace(std::string_view source);
  // A user's name as messages quote it: cut to 40 characters.
  static std::string shortened(std::string_view name);
  static std::string calleeName(const ast::Expr &callee); // "nn.Conv2d" -> "Conv2d"
  // A callee's dotted name as written ("nn.Conv2d"); "" unless it is a
  // name or a chain of attributes of one.
  static std::string dottedName(const ast::Expr &callee);
  Value unknownLayer(const ast::CallExpr &call, const std::string &callee);
  // Reports `s.startswith(...)` or `s[:3]` at `range`, saying why.
  Value stringOperation(SourceRange range, std::string_view reason);
  static std::optional<std::string> suggest(const std::string &name,
                                            const std::vector<std::string> &candidates);

private:
  const ast::File &file_;
  const SourceManager &sources_;
  Diagnostics &diags_;
  CheckOptions options_;
  std::map<std::string, const ast::Definition *> definitions_;
  std::set<const ast::Definition *> inCycle_;
  // Module instantiations under way, innermost last: their calls become
  // notes of errors found inside ("in 'Block' instantiated here").
  std::vector<std::pair<const ast::Definition *, SourceRange>> instantiating_;
  // The modules and helpers being built (not traced), innermost last.
  std::vector<const ast::Definition *> building_;
  CheckedModel *model_ = nullptr;
  unsigned forwardDepth_ = 0;
  std::vector<const ModuleInst *> tracing_; // the modules whose forward is traced, innermost last
  // Modules whose construction was rejected in part (reported): their
  // forward is not traced, its result unknown.
  std::set<const ModuleInst *> incomplete_;
  // Resource limits (basic/Limits.h): once one is reached, checking stops.
  uint64_t modulesBuilt_ = 0;
  bool overLimit_ = false;
  SourceRange statement_; // the forward statement being traced, for the limit's error
  void limitReached(SourceRange range, std::string message);
  void checkParameterBytes(const ast::Definition &def, const ModuleInst &root);
  bool tensorTooLarge(const SymShape &shape, SourceRange range);
  std::map<const ast::Expr *, Value> defaults_; // parameter defaults, evaluated once
  std::map<const ast::Definition *, std::vector<ParamFlaw>> paramFlaws_; // checkParams' findings
};

} // namespace seq::sema

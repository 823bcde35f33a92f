// Functions: tensor functions and methods in `forward`, looked up in two
// tables: sema/Functions.def (functions with shape rules of their own,
// functions that apply a layer once, aliases, and torch functions not
// supported yet) and ir/Activations.def (the F./torch./method forms of the
// activations). A call is checked against the forms its function has
// (F.NAME, torch.NAME, x.NAME()), its arguments evaluated with the tensor
// first, and dispatched to its handler.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>

namespace seq::sema {

using namespace seq::ast;

namespace {

// The FORMS of Functions.def and Activations.def.
constexpr unsigned SEQ_FN_F = 1, SEQ_FN_TORCH = 2, SEQ_FN_METHOD = 4;

struct FunctionEntry {
  const char *name;
  unsigned forms = 0;
  const char *layer = nullptr;   // applies this built-in layer once
  const char *aliasOf = nullptr; // another entry's name
  bool unsupported = false;
};

const std::vector<FunctionEntry> &functionTable() {
  static const std::vector<FunctionEntry> table = [] {
    std::vector<FunctionEntry> t;
#define SEQ_ACTIVATION(LAYER, KIND, NAME, FORMS, KERNEL, REPR, ...)                                \
  t.push_back({NAME, SEQ_FN_F | (FORMS), #LAYER});
#include "ir/Activations.def"
#define SEQ_LAYER_FUNCTION(NAME, LAYER, FORMS) t.push_back({#NAME, FORMS, #LAYER});
#define SEQ_TENSOR_FUNCTION(NAME, HANDLER, FORMS) t.push_back({#NAME, FORMS});
#define SEQ_FUNCTION_ALIAS(NAME, TARGET, FORMS) t.push_back({#NAME, FORMS, nullptr, #TARGET});
#define SEQ_UNSUPPORTED_FUNCTION(NAME)                                                             \
  t.push_back({#NAME, SEQ_FN_F | SEQ_FN_TORCH | SEQ_FN_METHOD, nullptr, nullptr, true});
#include "sema/Functions.def"
    return t;
  }();
  return table;
}

const FunctionEntry *findEntry(std::string_view name) {
  for (const FunctionEntry &e : functionTable())
    if (name == e.name)
      return &e;
  return nullptr;
}

// The entry an alias stands for (the entry itself otherwise).
const FunctionEntry *resolve(const FunctionEntry *e) {
  return e && e->aliasOf ? findEntry(e->aliasOf) : e;
}

unsigned formOf(std::string_view space) {
  return space == "F" ? SEQ_FN_F : space == "torch" ? SEQ_FN_TORCH : SEQ_FN_F | SEQ_FN_TORCH;
}

// The supported names callable in a form, for suggestions.
std::vector<std::string> namesIn(unsigned form) {
  std::vector<std::string> names;
  for (const FunctionEntry &e : functionTable())
    if (!e.unsupported && (e.forms & form))
      names.push_back(e.name);
  return names;
}

// How a function of these forms is best written: "F.hardswish(x)".
std::string preferredSpelling(const FunctionEntry &e) {
  if (e.forms & SEQ_FN_F)
    return fmt::format("F.{}(x)", e.name);
  if (e.forms & SEQ_FN_TORCH)
    return fmt::format("torch.{}(x)", e.name);
  return fmt::format("x.{}()", e.name);
}

} // namespace

bool isBareFunction(std::string_view name) {
  const FunctionEntry *e = findEntry(name);
  return e && !e->unsupported && (e->forms & (SEQ_FN_F | SEQ_FN_TORCH));
}

std::string_view functionSpace(std::string_view object) {
  if (object == "F" || object == "functional" || object == "nn.functional" ||
      object == "torch.nn.functional")
    return "F";
  if (object == "torch")
    return "torch";
  return "";
}

// ---- Calls ------------------------------------------------------------------------

Value Checker::unknownFunction(std::string_view space, std::string_view name, SourceRange range) {
  std::string written = space.empty() ? std::string(name) : fmt::format("{}.{}", space, name);
  const FunctionEntry *e = findEntry(name);
  if (e && e->unsupported) {
    error(range, fmt::format("'{}' is not supported yet", written));
    return Value::invalid();
  }
  if (e) {
    // It exists, in other forms: torch.hardswish is F.hardswish.
    Diagnostic &d = error(range, fmt::format("'{}' does not exist in torch 1.13", written));
    d.fixes.push_back({fmt::format("write it as {}", preferredSpelling(*e)), std::nullopt, ""});
    return Value::invalid();
  }
  Diagnostic &d = error(range, fmt::format("unknown function '{}'", shortened(written)));
  if (auto s = suggest(std::string(name), namesIn(formOf(space))))
    d.fixes.push_back({fmt::format("did you mean '{}'?",
                                   space.empty() ? *s : fmt::format("{}.{}", space, *s)),
                       range, space.empty() ? *s : fmt::format("{}.{}", space, *s)});
  return Value::invalid();
}

Value Checker::callFunction(std::string_view space, std::string_view name, const CallExpr &call,
                            Frame &frame) {
  const FunctionEntry *e = findEntry(name);
  if (!e || e->unsupported || !(e->forms & formOf(space)))
    return unknownFunction(space, name, call.callee->range);
  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  FunctionCall fc{resolve(e)->name, std::string(name), "", false, call, std::move(args), space};
  if (!fc.args.empty())
    fc.self = text(fc.args[0].range);
  return dispatchFunction(fc);
}

Value Checker::callMethod(const Value &tensor, const std::string &method, const CallExpr &call,
                          Frame &frame) {
  auto *attr = call.callee->as<AttributeExpr>();
  const FunctionEntry *e = findEntry(method);
  if (e && e->unsupported) {
    error(attr->nameRange, fmt::format("the tensor method '{}' is not supported yet", method));
    return Value::invalid();
  }
  if (!e || !(e->forms & SEQ_FN_METHOD)) {
    Diagnostic &d = error(attr->nameRange, fmt::format("tensors have no method '{}'", method));
    if (e)
      d.fixes.push_back({fmt::format("write it as {}", preferredSpelling(*e)), std::nullopt, ""});
    else if (auto s = suggest(method, namesIn(SEQ_FN_METHOD)))
      d.fixes.push_back({fmt::format("did you mean '{}'?", *s), attr->nameRange, *s});
    return Value::invalid();
  }
  std::vector<EvalArg> args = evalArgsF(call.args, frame);
  for (const EvalArg &a : args)
    if (a.value.isInvalid())
      return Value::invalid();
  args.insert(args.begin(), EvalArg{"", {}, attr->object->range, tensor});
  FunctionCall fc{resolve(e)->name, method, text(attr->object->range), true, call, std::move(args)};
  return dispatchFunction(fc);
}

Value Checker::dispatchFunction(FunctionCall &fc) {
  const FunctionEntry *e = findEntry(fc.name);
  if (e && e->layer)
    return applyFunctionLayer(*findLayer(e->layer), fc);
#define SEQ_TENSOR_FUNCTION(NAME, HANDLER, FORMS)                                                  \
  if (fc.name == #NAME)                                                                            \
    return HANDLER(fc);
#include "sema/Functions.def"
  error(fc.call.range, fmt::format("'{}' has no implementation", fc.spelled));
  return Value::invalid();
}

// relu(x), F.max_pool2d(x, 2), x.softmax(1): the layer made with the
// arguments after the tensor and applied once.
Value Checker::applyFunctionLayer(const LayerSpec &spec, FunctionCall &fc) {
  std::vector<EvalArg> &args = fc.args;
  // The tensor is the first argument, positional or `input=`.
  auto input = std::find_if(args.begin(), args.end(),
                            [](const EvalArg &a) { return a.name.empty() || a.name == "input"; });
  if (input == args.end() || input->value.kind != Value::Kind::Tensor) {
    error(fc.call.range, fmt::format("{}() takes a tensor as its first argument", fc.spelled));
    return Value::invalid();
  }
  Value x = input->value;
  args.erase(input);
  std::vector<ParamSpec> params = spec.params;
  std::erase_if(params, [](const ParamSpec &p) { return std::string_view(p.name) == "return_indices"; });
  std::optional<BoundArgs> bound = bind(fc.spelled, params, args, fc.call.range);
  if (!bound)
    return Value::invalid();
  if (spec.validate) {
    unsigned before = diags_.errorEvents();
    spec.validate(ArgCheck{*bound, [this](SourceRange r, std::string m) { error(r, std::move(m)); }});
    if (diags_.errorEvents() != before)
      return Value::invalid();
  }
  return Value::tensorRef(applyLayer(spec, nullptr, *bound, x.tensor(), fc.call.range,
                                     fmt::format("'{}'", display(fc.call.range))),
                          fc.call.range);
}

// ---- Functions with shape rules of their own --------------------------------------

namespace {

// The bound `input` of a function as a tensor, or nullptr.
const Value *tensorArg(const BoundArgs &bound, std::string_view name = "input") {
  const Value &v = bound.get(name);
  return v.kind == Value::Kind::Tensor ? &v : nullptr;
}

} // namespace

Value Checker::fnFlatten(FunctionCall &fc) {
  std::vector<ParamSpec> params{{"input", ArgType::Any, {}},
                                {"start_dim", ArgType::Int, Value::integer_(0)},
                                {"end_dim", ArgType::Int, Value::integer_(-1)}};
  std::optional<BoundArgs> bound = bind(fc.spelled, params, fc.args, fc.call.range);
  if (!bound)
    return Value::invalid();
  const Value *x = tensorArg(*bound);
  if (!x) {
    error(bound->rangeOf("input"), fmt::format("{}() takes a tensor as its first argument", fc.spelled));
    return Value::invalid();
  }
  return flatten(*x, bound->getInt("start_dim"), bound->getInt("end_dim"), fc.call);
}

std::optional<BoundArgs> Checker::bindTensorSequence(FunctionCall &fc, std::string_view function) {
  std::vector<ParamSpec> params{{"tensors", ArgType::Any, {}}, {"dim", ArgType::Int, Value::integer_(0)}};
  std::optional<BoundArgs> bound = bind(fc.spelled, params, fc.args, fc.call.range);
  if (!bound)
    return std::nullopt;
  const Value &tensors = bound->get("tensors");
  if (tensors.kind != Value::Kind::Tuple && tensors.kind != Value::Kind::List) {
    error(bound->rangeOf("tensors"),
          fmt::format("{} takes a tuple or list of tensors, not {}", function, describe(tensors)));
    return std::nullopt;
  }
  return bound;
}

Value Checker::fnCat(FunctionCall &fc) {
  std::optional<BoundArgs> bound = bindTensorSequence(fc, "cat");
  if (!bound)
    return Value::invalid();
  return concat(bound->get("tensors").items(), bound->getInt("dim"), fc.call);
}

// torch.stack(tensors, dim=0): tensors of one shape, each viewed with a
// new dim of size 1 at `dim`, then concatenated along it. A new dim before
// a symbolic batch would move it.
Value Checker::fnStack(FunctionCall &fc) {
  std::optional<BoundArgs> bound = bindTensorSequence(fc, "stack");
  if (!bound)
    return Value::invalid();
  const Value &tensors = bound->get("tensors");
  if (tensors.items().empty()) {
    error(bound->rangeOf("tensors"), "stack expects a non-empty list of tensors");
    return Value::invalid();
  }
  for (const Value &t : tensors.items()) {
    if (t.kind != Value::Kind::Tensor) {
      error(t.range, fmt::format("stack takes tensors, but this is {}", describe(t)));
      return Value::invalid();
    }
    if (!tv(t.tensor()).valid)
      return Value::tensorRef(invalidValue(), fc.call.range);
  }
  SymShape first = tv(tensors.items()[0].tensor()).shape; // a copy: new values move the trace
  for (size_t k = 1; k < tensors.items().size(); ++k)
    if (tv(tensors.items()[k].tensor()).shape != first) {
      Diagnostic &d = error(fc.call.range, fmt::format("stack expects each tensor to be equal size, but got {} "
                                                       "at entry 0 and {} at entry {}", shapeStr(first),
                                                       shapeStr(tv(tensors.items()[k].tensor()).shape), k));
      noteOrigin(d, tensors.items()[0].tensor());
      noteOrigin(d, tensors.items()[k].tensor());
      return Value::invalid();
    }
  auto dim = normalizeDim(bound->getInt("dim"), int64_t(first.size()) + 1, bound->rangeOf("dim"));
  if (!dim)
    return Value::invalid();
  if (*dim == 0 && !first.empty() && !first[0].isConstant())
    return batchError(fc, tensors.items()[0].tensor(), "move");
  SymShape unsqueezed = first;
  unsqueezed.insert(unsqueezed.begin() + *dim, SymInt::of(1));
  std::vector<Value> views;
  for (const Value &t : tensors.items()) {
    TraceNode node;
    node.kind = TraceNode::Kind::View;
    node.inputs = {t.tensor()};
    views.push_back(shapeNode(std::move(node), unsqueezed, fc));
  }
  return concat(views, *dim, fc.call);
}

// F.pad(x, pad, mode='constant', value=None) of a 4-d input: the padding
// layer of that mode (ConstantPad2d, ReflectionPad2d, ReplicationPad2d)
// applied once. `pad` is (left, right) or (left, right, top, bottom).
Value Checker::fnPad(FunctionCall &fc) {
  std::vector<ParamSpec> params{{"input", ArgType::Any, {}}, {"pad", ArgType::Any, {}},
                                {"mode", ArgType::Str, Value::string("constant")},
                                {"value", ArgType::OptFloat, Value::none()}};
  std::optional<BoundArgs> bound = bind(fc.spelled, params, fc.args, fc.call.range);
  if (!bound)
    return Value::invalid();
  const Value &x = bound->get("input"), &pad = bound->get("pad");
  if (x.kind != Value::Kind::Tensor) {
    error(bound->rangeOf("input"), fmt::format("pad() takes a tensor as its first argument, not {}", describe(x)));
    return Value::invalid();
  }
  if (!pad.isIntTuple(2) && !pad.isIntTuple(4)) {
    error(bound->rangeOf("pad"), fmt::format("pad() takes a tuple of 2 or 4 ints here (left, right[, top, "
                                             "bottom]), not {}", pad.kind == Value::Kind::Tuple ||
                                             pad.kind == Value::Kind::List ? pythonStr(pad) : describe(pad)));
    return Value::invalid();
  }
  std::vector<Value> sizes = pad.items();
  for (const Value &v : sizes)
    if (v.asInt() < 0) {
      error(bound->rangeOf("pad"), "negative padding (cropping) is not supported yet");
      return Value::invalid();
    }
  sizes.resize(4, Value::integer_(0));
  const std::string &mode = bound->getStr("mode");
  const char *layer = mode == "constant" ? "ConstantPad2d" : mode == "reflect" ? "ReflectionPad2d"
                      : mode == "replicate" ? "ReplicationPad2d" : nullptr;
  if (!layer) {
    error(bound->rangeOf("mode"), mode == "circular"
                                      ? std::string("pad() with mode 'circular' is not supported yet")
                                      : fmt::format("unknown padding mode '{}': expected 'constant', "
                                                    "'reflect' or 'replicate'", mode));
    return Value::invalid();
  }
  const Value &value = bound->get("value");
  if (mode != "constant" && value.kind != Value::Kind::None && value.asDouble() != 0) {
    error(bound->rangeOf("value"), fmt::format("padding mode \"{}\" doesn't take in value argument", mode));
    return Value::invalid();
  }
  if (int64_t(tv(x.tensor()).shape.size()) != 4) {
    error(fc.call.range, fmt::format("pad() is supported for 4-d inputs [N, C, H, W] here, not {}",
                                     shapeStr(tv(x.tensor()).shape)));
    return Value::invalid();
  }
  BoundArgs args;
  args.call = fc.call.range;
  args.args.push_back({"padding", Value::tuple(std::move(sizes), pad.range), true, bound->rangeOf("pad")});
  if (mode == "constant")
    args.args.push_back({"value", value.kind == Value::Kind::None ? Value::integer_(0) : value, true,
                         bound->rangeOf("value")});
  return Value::tensorRef(applyLayer(*findLayer(layer), nullptr, args, x.tensor(), fc.call.range,
                                     fmt::format("'{}'", display(fc.call.range))),
                          fc.call.range);
}

// x.view(a, b), x.view((a, b)), x.reshape(...), torch.reshape(x, (a, b)).
Value Checker::fnView(FunctionCall &fc) {
  if (fc.args.empty() || fc.args[0].value.kind != Value::Kind::Tensor || !fc.args[0].name.empty()) {
    error(fc.call.range, fmt::format("{}() takes a tensor as its first argument", fc.spelled));
    return Value::invalid();
  }
  std::vector<EvalArg> sizes(fc.args.begin() + 1, fc.args.end());
  return view(fc.args[0].value, sizes, fc);
}

Value Checker::fnContiguous(FunctionCall &fc) { return fc.args[0].value; }

Value Checker::fnDim(FunctionCall &fc) {
  return Value::integer_(int64_t(tv(fc.args[0].value.tensor()).shape.size()), fc.call.range);
}

Value Checker::fnSize(FunctionCall &fc) {
  const SymShape &shape = tv(fc.args[0].value.tensor()).shape;
  std::vector<EvalArg> args(fc.args.begin() + 1, fc.args.end());
  if (args.empty()) {
    std::vector<Value> dims;
    for (const SymInt &d : shape)
      dims.push_back(Value::symInt(d, fc.call.range));
    return Value::tuple(std::move(dims), fc.call.range);
  }
  if (args.size() != 1 || !args[0].value.isConstInt()) {
    error(fc.call.range, "size() takes one integer dimension");
    return Value::invalid();
  }
  int64_t rank = int64_t(shape.size()), d = args[0].value.asInt();
  if (d < -rank || d >= rank) {
    error(args[0].range, fmt::format("dimension {} is out of range for a {}-d tensor", d, rank));
    return Value::invalid();
  }
  return Value::symInt(shape[size_t(d < 0 ? d + rank : d)], fc.call.range);
}

} // namespace seq::sema

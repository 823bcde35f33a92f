// Layers: the table of built-in layers (LANGUAGE.md, "Built-in layers"):
// PyTorch 1.13's signatures, checks, shape rules, parameters and reprs.
#include "sema/Layers.h"

#include "sema/LayerRules.h"

#include <fmt/format.h>

namespace seq::sema::rules {

using A = ArgType;

Value I(int64_t v) { return Value::integer_(v); }
Value F(double v) { return Value::float_(v); }
Value B(bool v) { return Value::boolean_(v); }
Value S(const char *v) { return Value::string(v); }
Value None() { return Value::none(); }

std::string joinInts(const std::vector<int64_t> &v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

// Python's str of a tuple of ints: (5, 5) or (3,).
std::string tupleStr(const std::vector<int64_t> &v) {
  return "(" + joinInts(v) + (v.size() == 1 ? ",)" : ")");
}

// ---- Argument checks -------------------------------------------------------

void positive(const ArgCheck &c, std::string_view arg, size_t n) {
  for (int64_t v : c.args.getInts(arg, n))
    if (v <= 0) {
      c.error(arg, fmt::format("'{}' must be positive, got {}", arg, v));
      return;
    }
}

void nonNegative(const ArgCheck &c, std::string_view arg, size_t n) {
  for (int64_t v : c.args.getInts(arg, n))
    if (v < 0) {
      c.error(arg, fmt::format("'{}' must not be negative, got {}", arg, v));
      return;
    }
}

template <size_t N> void validateConv(const ArgCheck &c) {
  positive(c, "in_channels");
  positive(c, "out_channels");
  positive(c, "kernel_size", N);
  positive(c, "stride", N);
  positive(c, "dilation", N);
  positive(c, "groups");
  const Value &padding = c.args.get("padding");
  if (padding.kind == Value::Kind::Str) {
    if (padding.str() != "same" && padding.str() != "valid")
      c.error("padding", fmt::format("invalid padding string '{}': expected 'same' or 'valid'",
                                     padding.str()));
    else if (padding.str() == "same")
      for (int64_t s : c.args.getInts("stride", N))
        if (s != 1) {
          c.error("padding", "padding='same' is not supported for strided convolutions");
          break;
        }
  } else {
    nonNegative(c, "padding", N);
  }
  int64_t groups = c.args.getInt("groups");
  if (groups > 0) {
    for (const char *arg : {"in_channels", "out_channels"}) {
      int64_t channels = c.args.getInt(arg);
      if (channels > 0 && channels % groups != 0)
        c.error(arg, fmt::format("'{}' ({}) must be divisible by groups ({})", arg, channels,
                                 groups));
    }
  }
  const std::string &mode = c.args.getStr("padding_mode");
  if (mode != "zeros" && mode != "reflect" && mode != "replicate" && mode != "circular")
    c.error("padding_mode", fmt::format("unknown padding_mode '{}': expected 'zeros', 'reflect', "
                                        "'replicate' or 'circular'", mode));
}

void validatePool(const ArgCheck &c) {
  positive(c, "kernel_size", 2);
  if (!c.args.get("stride").isInvalid() && c.args.get("stride").kind != Value::Kind::None)
    positive(c, "stride", 2);
  nonNegative(c, "padding", 2);
  std::vector<int64_t> kernel = c.args.getInts("kernel_size", 2);
  std::vector<int64_t> padding = c.args.getInts("padding", 2);
  for (size_t i = 0; i < 2; ++i)
    if (kernel[i] > 0 && padding[i] > kernel[i] / 2) {
      c.error("padding", fmt::format("padding {} must be at most half of the kernel size {}",
                                     padding[i], kernel[i]));
      break;
    }
  if (c.args.find("dilation"))
    positive(c, "dilation", 2);
}

void validateNorm(const ArgCheck &c) {
  positive(c, "num_features");
  if (c.args.getFloat("eps") <= 0)
    c.error("eps", "'eps' must be positive");
  if (!c.args.getBool("track_running_stats"))
    c.error("track_running_stats",
            "track_running_stats=False normalises with batch statistics even in inference; "
            "seqc compiles inference with running statistics only");
}

// ---- Shape rules ---------------------------------------------------------------

bool requireRank(ShapeCheck &s, size_t lo, size_t hi, const char *form) {
  size_t rank = s.input.size();
  if (rank >= lo && rank <= hi)
    return true;
  s.fail(fmt::format("{} expects a {}-d input {}, but its input is {}", s.display,
                     lo == hi ? std::to_string(lo) : fmt::format("{}-d or {}", lo, hi), form,
                     shapeStr(s.input)));
  return false;
}

// One spatial dimension of a convolution or pooling window.
std::optional<int64_t> slide(ShapeCheck &s, const char *dim, SymInt inSym, int64_t kernel,
                             int64_t stride, int64_t padBegin, int64_t padEnd, int64_t dilation,
                             bool ceilMode) {
  if (!inSym.isConstant()) {
    s.fail(fmt::format("{} slides over the batch dimension of its input {}", s.display,
                       shapeStr(s.input)));
    return std::nullopt;
  }
  int64_t in = inSym.constant;
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + padBegin + padEnd;
  // With ceil_mode a window may hang over the end of the input, as long as
  // it starts inside it (PyTorch: a 2x2 pool of a 1x1 input gives 1x1).
  if (ceilMode && poolOutputSize(in, kernel, stride, padBegin, dilation, true) >= 1)
    return poolOutputSize(in, kernel, stride, padBegin, dilation, true);
  if (padded < span) {
    s.fail(fmt::format("{} has a kernel {} of {}{}, but its padded input {} is only {}", s.display,
                       dim, kernel, dilation > 1 ? fmt::format(" (dilated to {})", span) : "",
                       dim, padded));
    return std::nullopt;
  }
  int64_t out = ceilMode ? poolOutputSize(in, kernel, stride, padBegin, dilation, true)
                         : (padded - span) / stride + 1;
  if (out < 1) {
    s.fail(fmt::format("{} would produce an output {} of {} from an input {} of {}", s.display,
                       dim, out, dim, in));
    return std::nullopt;
  }
  return out;
}

template <size_t N> std::optional<SymShape> inferConv(ShapeCheck &s) {
  const char *form = N == 2 ? "[N, C, H, W]" : "[N, C, L]";
  if (!requireRank(s, N + 2, N + 2, form))
    return std::nullopt;
  int64_t inChannels = s.args.getInt("in_channels");
  SymShape out = s.input;
  out[1] = SymInt::of(s.args.getInt("out_channels"));
  if (!(s.input[1] == SymInt::of(inChannels)))
    s.fail(fmt::format("{} expects {} input channels, but its input has {}", s.display,
                       inChannels, s.input[1].str()),
           "in_channels", s.input[1].str());
  std::vector<int64_t> kernel = s.args.getInts("kernel_size", N);
  std::vector<int64_t> stride = s.args.getInts("stride", N);
  std::vector<int64_t> dilation = s.args.getInts("dilation", N);
  std::vector<int64_t> pad = convPadding(s.args, N);
  static const char *names[] = {"height", "width"};
  for (size_t i = 0; i < N; ++i) {
    // pad is [top, left, bottom, right]; a 1-d conv pads left and right.
    size_t begin = N == 2 ? i : 1;
    std::optional<int64_t> o = slide(s, N == 1 ? "length" : names[i], s.input[2 + i], kernel[i],
                                     stride[i], pad[begin], pad[begin + 2], dilation[i]);
    if (!o)
      return std::nullopt;
    out[2 + i] = SymInt::of(*o);
  }
  return out;
}

std::optional<SymShape> inferPool(ShapeCheck &s, bool hasDilation) {
  if (!requireRank(s, 3, 4, "[N, C, H, W]"))
    return std::nullopt;
  std::vector<int64_t> kernel = s.args.getInts("kernel_size", 2);
  const Value &strideArg = s.args.get("stride");
  std::vector<int64_t> stride =
      strideArg.kind == Value::Kind::None ? kernel : s.args.getInts("stride", 2);
  std::vector<int64_t> pad = s.args.getInts("padding", 2);
  std::vector<int64_t> dilation = hasDilation ? s.args.getInts("dilation", 2)
                                              : std::vector<int64_t>{1, 1};
  bool ceil = s.args.getBool("ceil_mode");
  SymShape out = s.input;
  size_t h = s.input.size() - 2;
  static const char *names[] = {"height", "width"};
  for (size_t i = 0; i < 2; ++i) {
    std::optional<int64_t> o = slide(s, names[i], s.input[h + i], kernel[i], stride[i], pad[i],
                                     pad[i], dilation[i], ceil);
    if (!o)
      return std::nullopt;
    out[h + i] = SymInt::of(*o);
  }
  return out;
}

std::optional<SymShape> inferBatchNorm(ShapeCheck &s, size_t lo, size_t hi, const char *form) {
  if (!requireRank(s, lo, hi, form))
    return std::nullopt;
  int64_t features = s.args.getInt("num_features");
  if (!(s.input[1] == SymInt::of(features)))
    s.fail(fmt::format("{} expects {} channels, but its input has {}", s.display, features,
                       s.input[1].str()),
           "num_features", s.input[1].str());
  return s.input;
}

std::vector<int64_t> normalizedShape(const BoundArgs &args) {
  const Value &v = args.get("normalized_shape");
  if (v.kind == Value::Kind::Int)
    return {v.asInt()};
  std::vector<int64_t> dims;
  for (const Value &item : v.items())
    dims.push_back(item.asInt());
  return dims;
}

std::optional<SymShape> inferLayerNorm(ShapeCheck &s) {
  std::vector<int64_t> dims = normalizedShape(s.args);
  bool ok = s.input.size() >= dims.size();
  for (size_t i = 0; ok && i < dims.size(); ++i)
    ok = s.input[s.input.size() - dims.size() + i] == SymInt::of(dims[i]);
  if (!ok) {
    std::string fix;
    if (s.input.size() >= dims.size()) {
      SymShape tail(s.input.end() - long(dims.size()), s.input.end());
      fix = dims.size() == 1 ? tail[0].str() : "(" + shapeStr(tail).substr(1, shapeStr(tail).size() - 2) + ")";
    }
    s.fail(fmt::format("{} expects its input to end in [{}], but its input is {}", s.display,
                       joinInts(dims), shapeStr(s.input)),
           fix.empty() ? "" : "normalized_shape", fix);
  }
  return s.input;
}

std::optional<SymShape> inferAdaptivePool(ShapeCheck &s) {
  if (!requireRank(s, 3, 4, "[N, C, H, W]"))
    return std::nullopt;
  const Value &size = s.args.get("output_size");
  SymShape out = s.input;
  for (size_t i = 0; i < 2; ++i) {
    const Value &item = size.kind == Value::Kind::Int ? size : size.items()[i];
    if (item.kind != Value::Kind::None)
      out[out.size() - 2 + i] = item.integer();
  }
  return out;
}

std::optional<SymShape> inferSoftmax(ShapeCheck &s) {
  int64_t rank = int64_t(s.input.size());
  int64_t dim = s.args.getInt("dim");
  if (dim < -rank || dim >= rank) {
    s.fail(fmt::format("{}: dim {} is out of range for a {}-d input {} (expected {} to {})",
                       s.display, dim, rank, shapeStr(s.input), -rank, rank - 1));
    return s.input;
  }
  if (!s.input[size_t(dim < 0 ? dim + rank : dim)].isConstant())
    s.fail(fmt::format("{} normalises over the batch dimension of {}; seqc compiles each batch "
                       "item independently", s.display, shapeStr(s.input)));
  return s.input;
}

std::optional<SymShape> inferFlatten(ShapeCheck &s) {
  int64_t rank = int64_t(s.input.size());
  int64_t start = s.args.getInt("start_dim"), end = s.args.getInt("end_dim");
  int64_t a = start < 0 ? start + rank : start, b = end < 0 ? end + rank : end;
  if (rank == 0)
    return s.input;
  if (a < 0 || a >= rank || b < 0 || b >= rank) {
    s.fail(fmt::format("{}: dims {} to {} are out of range for a {}-d input {}", s.display, start,
                       end, rank, shapeStr(s.input)));
    return std::nullopt;
  }
  if (a > b) {
    s.fail(fmt::format("{}: start_dim {} comes after end_dim {}", s.display, start, end));
    return std::nullopt;
  }
  SymShape merged(s.input.begin() + a, s.input.begin() + b + 1);
  std::optional<SymInt> p = product(merged);
  if (!p || (!p->isConstant() && b > a)) {
    s.fail(fmt::format("{} would merge the batch dimension of {} into [{}]; start at dim 1",
                       s.display, shapeStr(s.input), p ? p->str() : "?"),
           "start_dim", "1");
    return std::nullopt;
  }
  SymShape out(s.input.begin(), s.input.begin() + a);
  out.push_back(*p);
  out.insert(out.end(), s.input.begin() + b + 1, s.input.end());
  return out;
}

// ---- Parameters ---------------------------------------------------------------

std::vector<LayerParam> linearParams(const BoundArgs &a) {
  std::vector<LayerParam> p{{"weight", {a.getInt("out_features"), a.getInt("in_features")}}};
  if (a.getBool("bias"))
    p.push_back({"bias", {a.getInt("out_features")}});
  return p;
}

template <size_t N> std::vector<LayerParam> convParams(const BoundArgs &a) {
  int64_t out = a.getInt("out_channels");
  std::vector<int64_t> shape{out, a.getInt("in_channels") / std::max<int64_t>(1, a.getInt("groups"))};
  for (int64_t k : a.getInts("kernel_size", N))
    shape.push_back(k);
  std::vector<LayerParam> p{{"weight", shape}};
  if (a.getBool("bias"))
    p.push_back({"bias", {out}});
  return p;
}

std::vector<LayerParam> batchNormParams(const BoundArgs &a) {
  int64_t c = a.getInt("num_features");
  std::vector<LayerParam> p;
  if (a.getBool("affine"))
    p = {{"weight", {c}}, {"bias", {c}}};
  if (a.getBool("track_running_stats")) {
    p.push_back({"running_mean", {c}, true});
    p.push_back({"running_var", {c}, true});
  }
  return p;
}

std::vector<LayerParam> layerNormParams(const BoundArgs &a) {
  if (!a.getBool("elementwise_affine"))
    return {};
  return {{"weight", normalizedShape(a)}, {"bias", normalizedShape(a)}};
}

// ---- Reprs (PyTorch 1.13's extra_repr) ------------------------------------

std::string str(const BoundArgs &a, std::string_view arg) { return pythonStr(a.get(arg)); }

template <size_t N> std::string convRepr(const BoundArgs &a) {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", str(a, "in_channels"),
                              str(a, "out_channels"), tupleStr(a.getInts("kernel_size", N)),
                              tupleStr(a.getInts("stride", N)));
  const Value &padding = a.get("padding");
  if (padding.kind == Value::Kind::Str)
    s += ", padding=" + padding.str();
  else if (a.getInts("padding", N) != std::vector<int64_t>(N, 0))
    s += ", padding=" + tupleStr(a.getInts("padding", N));
  if (a.getInts("dilation", N) != std::vector<int64_t>(N, 1))
    s += ", dilation=" + tupleStr(a.getInts("dilation", N));
  if (a.getInt("groups") != 1)
    s += ", groups=" + str(a, "groups");
  if (!a.getBool("bias"))
    s += ", bias=False";
  if (a.getStr("padding_mode") != "zeros")
    s += ", padding_mode=" + a.getStr("padding_mode");
  return s;
}

std::string strideOrKernel(const BoundArgs &a) {
  return a.get("stride").kind == Value::Kind::None ? str(a, "kernel_size") : str(a, "stride");
}


std::vector<ParamSpec> convSignature(ArgType intOr, ArgType padding) {
  return {{"in_channels", A::Int, {}},         {"out_channels", A::Int, {}},
          {"kernel_size", intOr, {}},          {"stride", intOr, I(1)},
          {"padding", padding, I(0)},          {"dilation", intOr, I(1)},
          {"groups", A::Int, I(1)},            {"bias", A::Bool, B(true)},
          {"padding_mode", A::Str, S("zeros")}, {"device", A::Any, None()},
          {"dtype", A::Any, None()}};
}

std::vector<ParamSpec> batchNormSignature() {
  return {{"num_features", A::Int, {}},          {"eps", A::Float, F(1e-5)},
          {"momentum", A::OptFloat, F(0.1)},     {"affine", A::Bool, B(true)},
          {"track_running_stats", A::Bool, B(true)}, {"device", A::Any, None()},
          {"dtype", A::Any, None()}};
}


// PyTorch's extra_repr of an activation: its arguments as name=value in
// order, inplace=True only when set.
std::string activationRepr(const BoundArgs &a) {
  std::string out;
  for (const BoundArg *arg : a.all()) {
    if (std::string_view(arg->name()) == "inplace" && !arg->value.boolean())
      continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", arg->name(), pythonRepr(arg->value));
  }
  return out;
}

// The rows of ir/Activations.def as layers.
void addActivations(std::vector<LayerSpec> &t) {
  constexpr bool Args = true, Empty = false;
#define SEQ_KARG(NAME, DEFAULT) ParamSpec{#NAME, A::Float, DEFAULT},
#define SEQ_KCHOICE(NAME, FIRST, ...) ParamSpec{#NAME, A::Str, S(FIRST), {FIRST, __VA_ARGS__}},
#define SEQ_INPLACE ParamSpec{"inplace", A::Bool, B(false)},
#define SEQ_ACTIVATION(LAYER, KIND, NAME, FORMS, KERNEL, REPR, ...)                                \
  t.push_back({.name = #LAYER,                                                                     \
               .params = {__VA_ARGS__},                                                            \
               .shapePreserving = true,                                                            \
               .extraRepr = REPR ? activationRepr : nullptr,                                       \
               .unary = ir::UnaryKind::KIND});
#include "ir/Activations.def"
}

std::vector<LayerSpec> makeTable() {
  std::vector<LayerSpec> t;
  t.push_back({.name = "Linear",
               .params = {{"in_features", A::Int, {}}, {"out_features", A::Int, {}},
                          {"bias", A::Bool, B(true)}, {"device", A::Any, None()},
                          {"dtype", A::Any, None()}},
               .validate = [](const ArgCheck &c) { positive(c, "in_features"); positive(c, "out_features"); },
               .infer = [](ShapeCheck &s) -> std::optional<SymShape> {
                 if (s.input.empty()) {
                   s.fail(fmt::format("{} expects an input of at least 1 dimension", s.display));
                   return std::nullopt;
                 }
                 int64_t in = s.args.getInt("in_features");
                 if (!(s.input.back() == SymInt::of(in)))
                   s.fail(fmt::format("{} expects {} input features, but its input has {}",
                                      s.display, in, s.input.back().str()),
                          "in_features", s.input.back().str());
                 SymShape out = s.input;
                 out.back() = SymInt::of(s.args.getInt("out_features"));
                 return out;
               },
               .parameters = linearParams,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("in_features={}, out_features={}, bias={}", str(a, "in_features"),
                                    str(a, "out_features"), a.getBool("bias") ? "True" : "False");
               },
               .macsPerOutput = [](const BoundArgs &a) { return a.getInt("in_features"); }});
  t.push_back({.name = "Conv2d",
               .params = convSignature(A::IntOrPair, A::Padding2d),
               .validate = validateConv<2>,
               .infer = inferConv<2>,
               .parameters = convParams<2>,
               .extraRepr = convRepr<2>,
               .macsPerOutput = [](const BoundArgs &a) {
                 std::vector<int64_t> k = a.getInts("kernel_size", 2);
                 return a.getInt("in_channels") / std::max<int64_t>(1, a.getInt("groups")) * k[0] * k[1];
               }});
  t.push_back({.name = "Conv1d",
               .params = convSignature(A::IntOrSingle, A::Padding1d),
               .validate = validateConv<1>,
               .infer = inferConv<1>,
               .parameters = convParams<1>,
               .extraRepr = convRepr<1>,
               .macsPerOutput = [](const BoundArgs &a) {
                 return a.getInt("in_channels") / std::max<int64_t>(1, a.getInt("groups")) *
                        a.getInts("kernel_size", 1)[0];
               }});
  t.push_back({.name = "MaxPool2d",
               .params = {{"kernel_size", A::IntOrPair, {}}, {"stride", A::OptIntOrPair, None()},
                          {"padding", A::IntOrPair, I(0)}, {"dilation", A::IntOrPair, I(1)},
                          {"return_indices", A::Bool, B(false)}, {"ceil_mode", A::Bool, B(false)}},
               .validate = [](const ArgCheck &c) {
                 validatePool(c);
                 if (c.args.getBool("return_indices"))
                   c.error("return_indices", "return_indices=True is not supported: a layer "
                                             "returns one tensor");
               },
               .infer = [](ShapeCheck &s) { return inferPool(s, true); },
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
                                    str(a, "kernel_size"), strideOrKernel(a), str(a, "padding"),
                                    str(a, "dilation"), str(a, "ceil_mode"));
               }});
  t.push_back({.name = "AvgPool2d",
               .params = {{"kernel_size", A::IntOrPair, {}}, {"stride", A::OptIntOrPair, None()},
                          {"padding", A::IntOrPair, I(0)}, {"ceil_mode", A::Bool, B(false)},
                          {"count_include_pad", A::Bool, B(true)},
                          {"divisor_override", A::Any, None()}},
               .validate = [](const ArgCheck &c) {
                 validatePool(c);
                 if (c.args.get("divisor_override").kind != Value::Kind::None)
                   c.error("divisor_override", "divisor_override is not supported");
               },
               .infer = [](ShapeCheck &s) { return inferPool(s, false); },
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("kernel_size={}, stride={}, padding={}", str(a, "kernel_size"),
                                    strideOrKernel(a), str(a, "padding"));
               }});
  t.push_back({.name = "AdaptiveAvgPool2d",
               .params = {{"output_size", A::OutputSize2d, {}}},
               .validate = [](const ArgCheck &c) {
                 const Value &v = c.args.get("output_size");
                 for (const Value &item : v.kind == Value::Kind::Int ? std::vector<Value>{v} : v.items())
                   if (item.kind == Value::Kind::Int && item.asInt() <= 0) {
                     c.error("output_size", fmt::format("'output_size' must be positive, got {}", item.asInt()));
                     break;
                   }
               },
               .infer = inferAdaptivePool,
               .extraRepr = [](const BoundArgs &a) { return "output_size=" + str(a, "output_size"); }});
  t.push_back({.name = "BatchNorm1d",
               .params = batchNormSignature(),
               .shapePreserving = true,
               .validate = validateNorm,
               .infer = [](ShapeCheck &s) { return inferBatchNorm(s, 2, 3, "[N, C] or [N, C, L]"); },
               .parameters = batchNormParams,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}",
                                    str(a, "num_features"), str(a, "eps"), str(a, "momentum"),
                                    str(a, "affine"), str(a, "track_running_stats"));
               }});
  t.push_back(t.back());
  t.back().name = "BatchNorm2d";
  t.back().infer = [](ShapeCheck &s) { return inferBatchNorm(s, 4, 4, "[N, C, H, W]"); };
  t.push_back({.name = "LayerNorm",
               .params = {{"normalized_shape", A::IntOrInts, {}}, {"eps", A::Float, F(1e-5)},
                          {"elementwise_affine", A::Bool, B(true)}, {"device", A::Any, None()},
                          {"dtype", A::Any, None()}},
               .shapePreserving = true,
               .validate = [](const ArgCheck &c) {
                 for (int64_t d : normalizedShape(c.args))
                   if (d <= 0) {
                     c.error("normalized_shape", fmt::format("'normalized_shape' must be positive, got {}", d));
                     break;
                   }
               },
               .infer = inferLayerNorm,
               .parameters = layerNormParams,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("{}, eps={}, elementwise_affine={}", tupleStr(normalizedShape(a)),
                                    str(a, "eps"), str(a, "elementwise_affine"));
               }});
  addActivations(t);
  for (const char *name : {"Softmax", "LogSoftmax"}) {
    t.push_back({.name = name, .params = {{"dim", A::Int, {}}}, .shapePreserving = true,
                 .infer = inferSoftmax,
                 .extraRepr = [](const BoundArgs &a) { return "dim=" + str(a, "dim"); }});
  }
  t.push_back({.name = "Flatten",
               .params = {{"start_dim", A::Int, I(1)}, {"end_dim", A::Int, I(-1)}},
               .infer = inferFlatten,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("start_dim={}, end_dim={}", str(a, "start_dim"), str(a, "end_dim"));
               }});
  for (const char *name : {"Dropout", "Dropout2d"}) {
    t.push_back({.name = name, .params = {{"p", A::Float, F(0.5)}, {"inplace", A::Bool, B(false)}},
                 .shapePreserving = true,
                 .validate = [](const ArgCheck &c) {
                   double p = c.args.getFloat("p");
                   if (p < 0 || p > 1)
                     c.error("p", fmt::format("dropout probability has to be between 0 and 1, but got {}",
                                              pythonFloat(p)));
                 },
                 .extraRepr = [](const BoundArgs &a) {
                   return fmt::format("p={}, inplace={}", str(a, "p"), str(a, "inplace"));
                 }});
  }
  t.push_back({.name = "Identity", .params = {}, .acceptsAnything = true, .shapePreserving = true});
  addVersion2Layers(t);
  addVersion2WeightedLayers(t);
  return t;
}

} // namespace seq::sema::rules

namespace seq::sema {

void ArgCheck::error(std::string_view arg, std::string message) const {
  report(args.rangeOf(arg), std::move(message));
}

const std::vector<LayerSpec> &allLayers() {
  static const std::vector<LayerSpec> table = [] {
    std::vector<LayerSpec> t = rules::makeTable();
    for (LayerSpec &spec : t)
      for (const ParamSpec &p : spec.params)
        spec.defaults.push_back({p.name, p.defaultValue.value_or(Value::invalid()), false, {}});
    return t;
  }();
  return table;
}

const LayerSpec *findLayer(std::string_view name) {
  for (const LayerSpec &spec : allLayers())
    if (name == spec.name)
      return &spec;
  return nullptr;
}

std::vector<std::string> layerNames() {
  std::vector<std::string> names;
  for (const LayerSpec &spec : allLayers())
    names.push_back(spec.name);
  return names;
}

bool isUnsupportedLayer(std::string_view name) {
  static const char *const layers[] = {
      "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Embedding", "EmbeddingBag",
      "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder",
      "TransformerEncoderLayer", "TransformerDecoderLayer", "Conv3d", "ConvTranspose1d",
      "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "BatchNorm3d",
      "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm",
      "Bilinear", "PixelShuffle", "PixelUnshuffle", "Fold", "Unfold", 
      "RReLU", "SELU", "CELU", "GLU", "Softmin", "Softmax2d",
      "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "Threshold", "LogSigmoid",
      "AlphaDropout", "FeatureAlphaDropout", "Dropout1d", "Dropout3d", "ChannelShuffle",
      "CosineSimilarity", "PairwiseDistance", "Unflatten", "LazyLinear", "LazyConv2d"};
  for (const char *layer : layers)
    if (name == layer)
      return true;
  return false;
}

const char *supportedLayersSummary() {
  return "docs/language.md lists the layers seqc compiles";
}

std::vector<int64_t> convPadding(const BoundArgs &args, size_t n) {
  std::vector<int64_t> kernel = args.getInts("kernel_size", n);
  std::vector<int64_t> dilation = args.getInts("dilation", n);
  const Value &padding = args.get("padding");
  std::vector<int64_t> begin(n, 0), end(n, 0);
  if (padding.kind == Value::Kind::Str) {
    if (padding.str() == "same")
      for (size_t i = 0; i < n; ++i) {
        int64_t total = dilation[i] * (kernel[i] - 1);
        begin[i] = total / 2;
        end[i] = total - begin[i];
      }
  } else {
    begin = end = args.getInts("padding", n);
  }
  if (n == 1)
    return {0, begin[0], 0, end[0]};
  return {begin[0], begin[1], end[0], end[1]};
}

int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                       bool ceilMode) {
  int64_t numerator = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  int64_t out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

} // namespace seq::sema

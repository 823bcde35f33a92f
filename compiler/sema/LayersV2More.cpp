// LayersV2More: the built-in layers of version 2 that carry weights or
// resample: GroupNorm, PReLU, ConvTranspose2d and Upsample (with its
// subclasses UpsamplingNearest2d and UpsamplingBilinear2d), with torch
// 1.13's signatures, argument checks, shape rules, state_dict entries and
// reprs. Upsample's output size and source scales (upsampleGeometry) are
// shared with the lowering, so both follow PyTorch's arithmetic.
#include "sema/LayerRules.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace seq::sema {

namespace {

using namespace rules;
using A = ArgType;

// ---- GroupNorm and PReLU -----------------------------------------------------

void validateGroupNorm(const ArgCheck &c) {
  positive(c, "num_groups");
  positive(c, "num_channels");
  int64_t groups = c.args.getInt("num_groups"), channels = c.args.getInt("num_channels");
  if (groups > 0 && channels > 0 && channels % groups != 0)
    c.error("num_channels", fmt::format("num_channels ({}) must be divisible by num_groups ({})",
                                        channels, groups));
  if (c.args.getFloat("eps") <= 0)
    c.error("eps", "'eps' must be positive");
}

std::optional<SymShape> inferGroupNorm(ShapeCheck &s) {
  if (s.input.size() < 2) {
    s.fail(fmt::format("{} expects an input [N, C, *] of at least 2 dims, but its input is {}",
                       s.display, shapeStr(s.input)));
    return std::nullopt;
  }
  int64_t channels = s.args.getInt("num_channels");
  if (!(s.input[1] == SymInt::of(channels)))
    s.fail(fmt::format("{} expects {} channels, but its input has {}", s.display, channels,
                       s.input[1].str()),
           "num_channels", s.input[1].str());
  return s.input;
}

std::vector<LayerParam> groupNormParams(const BoundArgs &a) {
  if (!a.getBool("affine"))
    return {};
  int64_t c = a.getInt("num_channels");
  return {{"weight", {c}}, {"bias", {c}}};
}

std::optional<SymShape> inferPRelu(ShapeCheck &s) {
  int64_t n = s.args.getInt("num_parameters");
  if (n == 1)
    return s.input;
  if (s.input.size() < 2 || !(s.input[1] == SymInt::of(n)))
    s.fail(fmt::format("{} has {} parameters, one per channel, but its input {} has {} channels",
                       s.display, n, shapeStr(s.input), s.input.size() < 2 ? "1" : s.input[1].str()),
           "num_parameters", s.input.size() < 2 ? "1" : s.input[1].str());
  return s.input;
}

// ---- ConvTranspose2d -----------------------------------------------------------

void validateConvTranspose(const ArgCheck &c) {
  positive(c, "in_channels");
  positive(c, "out_channels");
  positive(c, "kernel_size", 2);
  positive(c, "stride", 2);
  positive(c, "dilation", 2);
  positive(c, "groups");
  nonNegative(c, "padding", 2);
  nonNegative(c, "output_padding", 2);
  int64_t groups = c.args.getInt("groups");
  if (groups > 0)
    for (const char *arg : {"in_channels", "out_channels"}) {
      int64_t channels = c.args.getInt(arg);
      if (channels > 0 && channels % groups != 0)
        c.error(arg, fmt::format("'{}' ({}) must be divisible by groups ({})", arg, channels, groups));
    }
  std::vector<int64_t> op = c.args.getInts("output_padding", 2), s = c.args.getInts("stride", 2),
                       d = c.args.getInts("dilation", 2);
  for (size_t i = 0; i < 2; ++i)
    if (op[i] >= std::max(s[i], d[i]) && op[i] > 0) {
      c.error("output_padding",
              fmt::format("output padding must be smaller than either stride or dilation, but got "
                          "output_padding {} with stride {} and dilation {}",
                          tupleStr(op), tupleStr(s), tupleStr(d)));
      break;
    }
  if (c.args.getStr("padding_mode") != "zeros")
    c.error("padding_mode", "only \"zeros\" padding mode is supported for ConvTranspose2d");
}

std::optional<SymShape> inferConvTranspose(ShapeCheck &s) {
  if (!requireRank(s, 4, 4, "[N, C, H, W]"))
    return std::nullopt;
  int64_t inChannels = s.args.getInt("in_channels");
  if (!(s.input[1] == SymInt::of(inChannels)))
    s.fail(fmt::format("{} expects {} input channels, but its input has {}", s.display, inChannels,
                       s.input[1].str()),
           "in_channels", s.input[1].str());
  std::vector<int64_t> k = s.args.getInts("kernel_size", 2), st = s.args.getInts("stride", 2),
                       p = s.args.getInts("padding", 2), d = s.args.getInts("dilation", 2),
                       op = s.args.getInts("output_padding", 2);
  SymShape out = s.input;
  out[1] = SymInt::of(s.args.getInt("out_channels"));
  static const char *names[] = {"height", "width"};
  for (size_t i = 0; i < 2; ++i) {
    if (!s.input[2 + i].isConstant()) {
      s.fail(fmt::format("{} slides over the batch dimension of its input {}", s.display,
                         shapeStr(s.input)));
      return std::nullopt;
    }
    int64_t o = (s.input[2 + i].constant - 1) * st[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1;
    if (o < 1) {
      s.fail(fmt::format("{} would produce an output {} of {} from an input {} of {}", s.display,
                         names[i], o, names[i], s.input[2 + i].constant));
      return std::nullopt;
    }
    out[2 + i] = SymInt::of(o);
  }
  return out;
}

std::vector<LayerParam> convTransposeParams(const BoundArgs &a) {
  std::vector<int64_t> k = a.getInts("kernel_size", 2);
  int64_t groups = std::max<int64_t>(1, a.getInt("groups"));
  std::vector<LayerParam> p{{"weight", {a.getInt("in_channels"), a.getInt("out_channels") / groups, k[0], k[1]}}};
  if (a.getBool("bias"))
    p.push_back({"bias", {a.getInt("out_channels")}});
  return p;
}

// PyTorch's _ConvNd.extra_repr with output_padding after dilation.
std::string convTransposeRepr(const BoundArgs &a) {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", str(a, "in_channels"),
                              str(a, "out_channels"), tupleStr(a.getInts("kernel_size", 2)),
                              tupleStr(a.getInts("stride", 2)));
  if (a.getInts("padding", 2) != std::vector<int64_t>{0, 0})
    s += ", padding=" + tupleStr(a.getInts("padding", 2));
  if (a.getInts("dilation", 2) != std::vector<int64_t>{1, 1})
    s += ", dilation=" + tupleStr(a.getInts("dilation", 2));
  if (a.getInts("output_padding", 2) != std::vector<int64_t>{0, 0})
    s += ", output_padding=" + tupleStr(a.getInts("output_padding", 2));
  if (a.getInt("groups") != 1)
    s += ", groups=" + str(a, "groups");
  if (!a.getBool("bias"))
    s += ", bias=False";
  return s;
}

// ---- Upsample --------------------------------------------------------------------

bool isNone(const Value &v) { return v.kind == Value::Kind::None; }

// torch keeps a scale_factor only when it is truthy (0 means None).
bool hasScale(const BoundArgs &a) {
  const Value &v = a.get("scale_factor");
  return !isNone(v) && !(v.isNumber() && v.asDouble() == 0);
}

// The two values of a size or scale_factor given as one number or a pair.
std::optional<std::array<double, 2>> pairOf(const Value &v) {
  if (v.isNumber())
    return std::array<double, 2>{v.asDouble(), v.asDouble()};
  if ((v.kind == Value::Kind::Tuple || v.kind == Value::Kind::List) && v.items().size() == 2 &&
      v.items()[0].isNumber() && v.items()[1].isNumber())
    return std::array<double, 2>{v.items()[0].asDouble(), v.items()[1].asDouble()};
  return std::nullopt;
}

void validateUpsample(const ArgCheck &c) {
  const Value &size = c.args.get("size"), &scale = c.args.get("scale_factor");
  const std::string &mode = c.args.getStr("mode");
  if (!isNone(size)) {
    bool ints = size.isConstInt() || size.isIntTuple(2);
    if (!ints)
      c.error("size", fmt::format("'size' must be None, an int or a tuple of 2 ints, not {}", describe(size)));
    else if (std::optional<std::array<double, 2>> p = pairOf(size); p && ((*p)[0] <= 0 || (*p)[1] <= 0))
      c.error("size", fmt::format("'size' must be positive, got {}", pythonStr(size)));
  }
  if (!isNone(scale)) {
    std::optional<std::array<double, 2>> p = pairOf(scale);
    if (!p)
      c.error("scale_factor", fmt::format("'scale_factor' must be None, a number or a tuple of 2 "
                                          "numbers, not {}", describe(scale)));
    else if ((*p)[0] < 0 || (*p)[1] < 0 || ((*p)[0] == 0) != ((*p)[1] == 0))
      c.error("scale_factor", fmt::format("'scale_factor' must be positive, got {}", pythonStr(scale)));
  }
  if (!isNone(size) && hasScale(c.args))
    c.error("scale_factor", "only one of size or scale_factor should be defined");
  else if (isNone(size) && !hasScale(c.args))
    c.error("size", "either size or scale_factor should be defined");
  if (mode == "linear" || mode == "bicubic" || mode == "trilinear" || mode == "area" ||
      mode == "nearest-exact")
    c.error("mode", fmt::format("mode '{}' is not supported yet: seqc resamples with 'nearest' "
                                "and 'bilinear'", mode));
  else if (mode != "nearest" && mode != "bilinear")
    c.error("mode", fmt::format("unknown mode '{}': expected 'nearest' or 'bilinear'", mode));
  const Value &align = c.args.get("align_corners");
  if (!isNone(align) && align.kind != Value::Kind::Bool)
    c.error("align_corners", fmt::format("'align_corners' must be None or a bool, not {}", describe(align)));
  else if (!isNone(align) && mode == "nearest")
    c.error("align_corners", "align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear");
  const Value &recompute = c.args.get("recompute_scale_factor");
  if (!isNone(recompute) && recompute.kind != Value::Kind::Bool)
    c.error("recompute_scale_factor", fmt::format("'recompute_scale_factor' must be None or a bool, not {}",
                                                  describe(recompute)));
}

std::optional<SymShape> inferUpsample(ShapeCheck &s) {
  if (!requireRank(s, 4, 4, "[N, C, H, W]"))
    return std::nullopt;
  for (size_t i = 2; i < 4; ++i)
    if (!s.input[i].isConstant()) {
      s.fail(fmt::format("{} resamples the batch dimension of its input {}", s.display, shapeStr(s.input)));
      return std::nullopt;
    }
  std::optional<UpsampleGeometry> g = upsampleGeometry(s.args, s.input[2].constant, s.input[3].constant);
  if (!g) {
    s.fail(fmt::format("{} would produce an empty output from its input {}", s.display, shapeStr(s.input)));
    return std::nullopt;
  }
  SymShape out = s.input;
  out[2] = SymInt::of(g->out[0]);
  out[3] = SymInt::of(g->out[1]);
  return out;
}

// UpsamplingNearest2d and UpsamplingBilinear2d take only size and
// scale_factor; the rules above see them as the Upsample they construct.
template <bool Bilinear> BoundArgs asUpsample(const BoundArgs &a) {
  BoundArgs full = a;
  full.args.push_back({"mode", S(Bilinear ? "bilinear" : "nearest"), false, a.call});
  full.args.push_back({"align_corners", Bilinear ? B(true) : None(), false, a.call});
  full.args.push_back({"recompute_scale_factor", None(), false, a.call});
  return full;
}

// Upsample.extra_repr: the scale factor as floats, else the size as given.
std::string upsampleRepr(const BoundArgs &a) {
  std::string what;
  if (hasScale(a)) {
    const Value &v = a.get("scale_factor");
    if (v.isNumber()) {
      what = "scale_factor=" + pythonFloat(v.asDouble());
    } else {
      std::vector<std::string> parts;
      for (const Value &item : v.items())
        parts.push_back(pythonFloat(item.asDouble()));
      what = fmt::format("scale_factor=({})", fmt::join(parts, ", "));
    }
  } else {
    what = "size=" + pythonRepr(a.get("size"));
  }
  return what + ", mode=" + a.getStr("mode");
}

template <bool Bilinear> void validateUpsampling(const ArgCheck &c) {
  BoundArgs full = asUpsample<Bilinear>(c.args);
  validateUpsample(ArgCheck{full, c.report});
}

template <bool Bilinear> std::optional<SymShape> inferUpsampling(ShapeCheck &s) {
  BoundArgs full = asUpsample<Bilinear>(s.args);
  ShapeCheck inner{full, s.input, s.display, {}};
  std::optional<SymShape> out = inferUpsample(inner);
  s.problems = std::move(inner.problems);
  return out;
}

} // namespace

BoundArgs upsampleArgs(const LayerSpec &layer, const BoundArgs &args) {
  std::string_view name = layer.name;
  if (name == "UpsamplingNearest2d")
    return asUpsample<false>(args);
  if (name == "UpsamplingBilinear2d")
    return asUpsample<true>(args);
  return args;
}

std::optional<UpsampleGeometry> upsampleGeometry(const BoundArgs &a, int64_t H, int64_t W) {
  UpsampleGeometry g;
  g.bilinear = a.getStr("mode") == "bilinear";
  g.alignCorners = a.get("align_corners").kind == Value::Kind::Bool && a.getBool("align_corners");
  int64_t in[2] = {H, W};
  std::optional<std::array<double, 2>> scale;
  if (hasScale(a))
    scale = pairOf(a.get("scale_factor"));
  std::optional<std::array<double, 2>> size = isNone(a.get("size")) ? std::nullopt : pairOf(a.get("size"));
  if (!scale && !size)
    return std::nullopt;
  const Value &recompute = a.get("recompute_scale_factor");
  bool passScale = scale && !(recompute.kind == Value::Kind::Bool && recompute.boolean());
  for (int i = 0; i < 2; ++i) {
    g.out[i] = size ? int64_t((*size)[i]) : int64_t(std::floor(double(in[i]) * (*scale)[i]));
    if (g.out[i] < 1)
      return std::nullopt;
    // PyTorch's compute_scales_value and area_pixel_compute_scale, in float.
    if (g.bilinear && g.alignCorners)
      g.scale[i] = g.out[i] > 1 ? float(in[i] - 1) / float(g.out[i] - 1) : 0.0f;
    else if (passScale && (*scale)[i] > 0)
      g.scale[i] = float(1.0 / (*scale)[i]);
    else
      g.scale[i] = float(in[i]) / float(g.out[i]);
  }
  return g;
}

namespace rules {

void addVersion2WeightedLayers(std::vector<LayerSpec> &t) {
  t.push_back({.name = "GroupNorm",
               .params = {{"num_groups", A::Int, {}}, {"num_channels", A::Int, {}},
                          {"eps", A::Float, F(1e-5)}, {"affine", A::Bool, B(true)},
                          {"device", A::Any, None()}, {"dtype", A::Any, None()}},
               .shapePreserving = true,
               .validate = validateGroupNorm,
               .infer = inferGroupNorm,
               .parameters = groupNormParams,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("{}, {}, eps={}, affine={}", str(a, "num_groups"),
                                    str(a, "num_channels"), str(a, "eps"), str(a, "affine"));
               }});
  t.push_back({.name = "PReLU",
               .params = {{"num_parameters", A::Int, I(1)}, {"init", A::Float, F(0.25)},
                          {"device", A::Any, None()}, {"dtype", A::Any, None()}},
               .shapePreserving = true,
               .validate = [](const ArgCheck &c) { positive(c, "num_parameters"); },
               .infer = inferPRelu,
               .parameters = [](const BoundArgs &a) {
                 return std::vector<LayerParam>{{"weight", {a.getInt("num_parameters")}}};
               },
               .extraRepr = [](const BoundArgs &a) { return "num_parameters=" + str(a, "num_parameters"); }});
  t.push_back({.name = "ConvTranspose2d",
               .params = {{"in_channels", A::Int, {}}, {"out_channels", A::Int, {}},
                          {"kernel_size", A::IntOrPair, {}}, {"stride", A::IntOrPair, I(1)},
                          {"padding", A::IntOrPair, I(0)}, {"output_padding", A::IntOrPair, I(0)},
                          {"groups", A::Int, I(1)}, {"bias", A::Bool, B(true)},
                          {"dilation", A::IntOrPair, I(1)}, {"padding_mode", A::Str, S("zeros")},
                          {"device", A::Any, None()}, {"dtype", A::Any, None()}},
               .validate = validateConvTranspose,
               .infer = inferConvTranspose,
               .parameters = convTransposeParams,
               .extraRepr = convTransposeRepr,
               // Each input element meets OC/groups*KH*KW outputs: per output,
               // in/groups*KH*KW/(SH*SW) on average.
               .macsPerOutput = [](const BoundArgs &a) {
                 std::vector<int64_t> k = a.getInts("kernel_size", 2), s = a.getInts("stride", 2);
                 int64_t macs = a.getInt("in_channels") / std::max<int64_t>(1, a.getInt("groups")) * k[0] * k[1];
                 return std::max<int64_t>(1, macs / std::max<int64_t>(1, s[0] * s[1]));
               }});
  t.push_back({.name = "Upsample",
               .params = {{"size", A::Any, None()}, {"scale_factor", A::Any, None()},
                          {"mode", A::Str, S("nearest")}, {"align_corners", A::Any, None()},
                          {"recompute_scale_factor", A::Any, None()}},
               .validate = validateUpsample,
               .infer = inferUpsample,
               .extraRepr = upsampleRepr});
  t.push_back({.name = "UpsamplingNearest2d",
               .params = {{"size", A::Any, None()}, {"scale_factor", A::Any, None()}},
               .validate = validateUpsampling<false>,
               .infer = inferUpsampling<false>,
               .extraRepr = [](const BoundArgs &a) { return upsampleRepr(asUpsample<false>(a)); }});
  t.push_back({.name = "UpsamplingBilinear2d",
               .params = {{"size", A::Any, None()}, {"scale_factor", A::Any, None()}},
               .validate = validateUpsampling<true>,
               .infer = inferUpsampling<true>,
               .extraRepr = [](const BoundArgs &a) { return upsampleRepr(asUpsample<true>(a)); }});
}

} // namespace rules

} // namespace seq::sema

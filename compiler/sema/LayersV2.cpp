// LayersV2: the built-in layers version 2 of the language adds (besides
// the activations of ir/Activations.def): 1-d pooling, adaptive max
// pooling, ZeroPad2d, ConstantPad2d, ReplicationPad2d, ReflectionPad2d
// and torchvision's StochasticDepth, with torch 1.13's
// signatures, checks and reprs.
#include "sema/LayerRules.h"

#include <fmt/format.h>

namespace seq::sema::rules {

namespace {

using A = ArgType;

void validateOutputSize(const ArgCheck &c) {
  const Value &v = c.args.get("output_size");
  for (const Value &item : v.kind == Value::Kind::Int ? std::vector<Value>{v} : v.items())
    if (item.kind == Value::Kind::Int && item.asInt() <= 0) {
      c.error("output_size", fmt::format("'output_size' must be positive, got {}", item.asInt()));
      return;
    }
}

void rejectIndices(const ArgCheck &c) {
  if (c.args.getBool("return_indices"))
    c.error("return_indices", "return_indices=True is not supported: a layer returns one tensor");
}

// MaxPool1d / AvgPool1d: kernel, stride and padding of one dim.
void validatePool1d(const ArgCheck &c) {
  positive(c, "kernel_size");
  const Value &stride = c.args.get("stride");
  if (stride.kind != Value::Kind::None && !stride.isConstInt() && !stride.isIntTuple(1))
    c.error("stride", fmt::format("'stride' must be None, an int or a tuple of 1 int, not {}",
                                  describe(stride)));
  else if (stride.kind != Value::Kind::None)
    positive(c, "stride");
  nonNegative(c, "padding");
  int64_t kernel = c.args.getInts("kernel_size", 1)[0], padding = c.args.getInts("padding", 1)[0];
  if (kernel > 0 && padding > kernel / 2)
    c.error("padding", fmt::format("padding {} must be at most half of the kernel size {}", padding,
                                   kernel));
  if (c.args.find("dilation"))
    positive(c, "dilation");
}

std::optional<SymShape> inferPool1d(ShapeCheck &s) {
  if (!requireRank(s, 3, 3, "[N, C, L]"))
    return std::nullopt;
  int64_t kernel = s.args.getInts("kernel_size", 1)[0];
  int64_t stride = s.args.get("stride").kind == Value::Kind::None ? kernel
                                                                  : s.args.getInts("stride", 1)[0];
  int64_t pad = s.args.getInts("padding", 1)[0];
  int64_t dilation = s.args.find("dilation") ? s.args.getInts("dilation", 1)[0] : 1;
  std::optional<int64_t> o = slide(s, "length", s.input[2], kernel, stride, pad, pad, dilation,
                                   s.args.getBool("ceil_mode"));
  if (!o)
    return std::nullopt;
  SymShape out = s.input;
  out[2] = SymInt::of(*o);
  return out;
}

std::optional<SymShape> inferAdaptivePool1d(ShapeCheck &s) {
  if (!requireRank(s, 3, 3, "[N, C, L]"))
    return std::nullopt;
  SymShape out = s.input;
  out[2] = SymInt::of(s.args.getInts("output_size", 1)[0]);
  return out;
}

// ZeroPad2d's padding as (left, right, top, bottom).
std::vector<int64_t> zeroPadding(const BoundArgs &a) { return a.getInts("padding", 4); }

// ZeroPad2d, ConstantPad2d, ReplicationPad2d and ReflectionPad2d (whose
// padding must stay below the dim it pads, as torch checks).
std::optional<SymShape> inferPad2d(ShapeCheck &s, bool reflect) {
  if (!requireRank(s, 4, 4, "[N, C, H, W]"))
    return std::nullopt;
  std::vector<int64_t> p = zeroPadding(s.args);
  SymShape out = s.input;
  for (size_t i = 0; i < 2; ++i) {
    if (!s.input[2 + i].isConstant()) {
      s.fail(fmt::format("{} pads the batch dimension of {}", s.display, shapeStr(s.input)));
      return std::nullopt;
    }
    int64_t n = s.input[2 + i].constant, lo = p[2 * (1 - i)], hi = p[2 * (1 - i) + 1];
    if (reflect && (lo >= n || hi >= n)) {
      s.fail(fmt::format("{} pads dimension {} of {} by ({}, {}), but reflection padding must be "
                         "less than the dimension it pads", s.display, 2 + i, shapeStr(s.input), lo, hi));
      return std::nullopt;
    }
    out[2 + i] = SymInt::of(n + lo + hi);
  }
  return out;
}

void validatePadding4(const ArgCheck &c) {
  const Value &v = c.args.get("padding");
  if (!v.isConstInt() && !v.isIntTuple(4))
    c.error("padding", fmt::format("'padding' must be an int or a tuple of 4 ints, not {}", describe(v)));
  else
    nonNegative(c, "padding", 4);
}

} // namespace

void addVersion2Layers(std::vector<LayerSpec> &t) {
  t.push_back({.name = "AdaptiveMaxPool2d",
               .params = {{"output_size", A::OutputSize2d, {}}, {"return_indices", A::Bool, B(false)}},
               .validate = [](const ArgCheck &c) { validateOutputSize(c); rejectIndices(c); },
               .infer = inferAdaptivePool,
               .extraRepr = [](const BoundArgs &a) { return "output_size=" + str(a, "output_size"); }});
  t.push_back({.name = "MaxPool1d",
               .params = {{"kernel_size", A::IntOrSingle, {}}, {"stride", A::Any, None()},
                          {"padding", A::IntOrSingle, I(0)}, {"dilation", A::IntOrSingle, I(1)},
                          {"return_indices", A::Bool, B(false)}, {"ceil_mode", A::Bool, B(false)}},
               .validate = [](const ArgCheck &c) { validatePool1d(c); rejectIndices(c); },
               .infer = inferPool1d,
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
                                    str(a, "kernel_size"), strideOrKernel(a), str(a, "padding"),
                                    str(a, "dilation"), str(a, "ceil_mode"));
               }});
  // AvgPool1d keeps its sizes as 1-tuples (_single), and prints them so.
  t.push_back({.name = "AvgPool1d",
               .params = {{"kernel_size", A::IntOrSingle, {}}, {"stride", A::Any, None()},
                          {"padding", A::IntOrSingle, I(0)}, {"ceil_mode", A::Bool, B(false)},
                          {"count_include_pad", A::Bool, B(true)}},
               .validate = validatePool1d,
               .infer = inferPool1d,
               .extraRepr = [](const BoundArgs &a) {
                 std::vector<int64_t> k = a.getInts("kernel_size", 1);
                 std::vector<int64_t> s = a.get("stride").kind == Value::Kind::None ? k : a.getInts("stride", 1);
                 return fmt::format("kernel_size={}, stride={}, padding={}", tupleStr(k), tupleStr(s),
                                    tupleStr(a.getInts("padding", 1)));
               }});
  t.push_back({.name = "AdaptiveAvgPool1d",
               .params = {{"output_size", A::IntOrSingle, {}}},
               .validate = [](const ArgCheck &c) { positive(c, "output_size"); },
               .infer = inferAdaptivePool1d,
               .extraRepr = [](const BoundArgs &a) { return "output_size=" + str(a, "output_size"); }});
  t.push_back({.name = "ZeroPad2d",
               .params = {{"padding", A::Any, {}}},
               .validate = validatePadding4,
               .infer = [](ShapeCheck &s) { return inferPad2d(s, false); },
               .extraRepr = [](const BoundArgs &a) { return tupleStr(zeroPadding(a)); }});
  t.push_back(t.back());
  t.back().name = "ReplicationPad2d";
  t.push_back(t.back());
  t.back().name = "ReflectionPad2d";
  t.back().infer = [](ShapeCheck &s) { return inferPad2d(s, true); };
  t.push_back({.name = "ConstantPad2d",
               .params = {{"padding", A::Any, {}}, {"value", A::Float, {}}},
               .validate = validatePadding4,
               .infer = [](ShapeCheck &s) { return inferPad2d(s, false); },
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("padding={}, value={}", tupleStr(zeroPadding(a)), str(a, "value"));
               }});
  // torchvision.ops.StochasticDepth: the identity in inference.
  t.push_back({.name = "StochasticDepth",
               .params = {{"p", A::Float, {}}, {"mode", A::Str, {}}},
               .shapePreserving = true,
               .validate = [](const ArgCheck &c) {
                 double p = c.args.getFloat("p");
                 if (p < 0 || p > 1)
                   c.error("p", fmt::format("drop probability has to be between 0 and 1, but got {}",
                                            pythonFloat(p)));
                 const std::string &mode = c.args.getStr("mode");
                 if (mode != "batch" && mode != "row")
                   c.error("mode", fmt::format("mode has to be either 'batch' or 'row', but got {}", mode));
               },
               .extraRepr = [](const BoundArgs &a) {
                 return fmt::format("p={}, mode={}", str(a, "p"), a.getStr("mode"));
               }});
}

} // namespace seq::sema::rules

// Layers: the one table of built-in layers. Each entry has PyTorch's
// signature and defaults, its argument checks, its shape rule, its
// parameters (state_dict entries) and its repr. Adding a layer is one entry
// here, one lowering case and one kernel; adding an activation is one row
// of ir/Activations.def and its kernel.
#pragma once

#include "basic/Diagnostics.h"
#include "ir/Graph.h"
#include "sema/Module.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace seq::sema {

enum class ArgType {
  Int, Float, Bool, Str,
  IntOrPair,      // 3 or (3, 3)
  IntOrSingle,    // 3 or (3,)      (1-d layers)
  Padding2d,      // 1, (1, 2), 'same' or 'valid'
  Padding1d,      // 1, (1,), 'same' or 'valid'
  OptIntOrPair,   // None, 2 or (2, 2)
  OptFloat,       // None or a float
  IntOrInts,      // 64 or (8, 8): normalized_shape
  OutputSize2d,   // 1, (1, 1), (None, 7)
  Any,
};

struct ParamSpec {
  const char *name;
  ArgType type;
  std::optional<Value> defaultValue; // nullopt: required
  std::vector<std::string> choices = {}; // Str: the values allowed (empty: any)
  // `name`'s paramnames id, interned when first bound (a layer's table is
  // bound once per instance).
  uint32_t nameId() const {
    if (!nameId_)
      nameId_ = paramnames::intern(name) + 1;
    return nameId_ - 1;
  }
  mutable uint32_t nameId_ = 0; // id + 1, or 0
};

// Reports argument errors of a layer at the argument.
struct ArgCheck {
  const BoundArgs &args;
  // Reports an error at a range (the checker adds its context notes).
  std::function<void(SourceRange, std::string)> report;
  void error(std::string_view arg, std::string message) const;
};

// The context of a shape rule: the input, the arguments, and the problems
// found. A rule returns the output shape it declares even when it reports a
// problem (so checking goes on), or nullopt when no shape follows.
struct ShapeProblem {
  std::string message;
  std::string fixArg;   // the argument whose value would fix it, or ""
  std::string fixValue; // its new value
};

struct ShapeCheck {
  const BoundArgs &args;
  const SymShape &input;
  std::string display;  // "BatchNorm2d(32)": the call as written, abbreviated
  std::vector<ShapeProblem> problems;

  void fail(std::string message, std::string fixArg = "", std::string fixValue = "") {
    problems.push_back({std::move(message), std::move(fixArg), std::move(fixValue)});
  }
};

struct LayerParam {
  std::string name;
  std::vector<int64_t> shape;
  bool buffer = false; // running statistics: in the state_dict, not trained
};

struct LayerSpec {
  const char *name;
  std::vector<ParamSpec> params;
  bool acceptsAnything = false;   // Identity(*args, **kwargs)
  bool shapePreserving = false;   // output shape = input shape
  void (*validate)(const ArgCheck &) = nullptr;
  std::optional<SymShape> (*infer)(ShapeCheck &) = nullptr; // null: shape-preserving
  std::vector<LayerParam> (*parameters)(const BoundArgs &) = nullptr;
  std::string (*extraRepr)(const BoundArgs &) = nullptr;
  // Multiply-accumulates per output element (Linear: in_features).
  int64_t (*macsPerOutput)(const BoundArgs &) = nullptr;
  // An activation of ir/Activations.def: lowered to a Unary node whose
  // kernel arguments are the parameters of the same names.
  std::optional<ir::UnaryKind> unary = std::nullopt;
  // One per parameter, in order, with its default (invalid when required):
  // the arguments an instance was not given read these (BoundArgs::compact).
  std::vector<BoundArg> defaults = {};
};

// The layer named `name` (without an `nn.` prefix), or null.
const LayerSpec *findLayer(std::string_view name);
const std::vector<LayerSpec> &allLayers();

// Names of every layer, for "did you mean" suggestions.
std::vector<std::string> layerNames();

// A layer of torch.nn 1.13 that seqc does not compile yet (LSTM, Embedding).
bool isUnsupportedLayer(std::string_view name);
// Where the supported layers are listed, for that message.
const char *supportedLayersSummary();

// The four paddings [top, left, bottom, right] of a Conv2d/Conv1d
// (1-d: top/bottom 0) from its bound arguments, resolving 'same'/'valid'.
std::vector<int64_t> convPadding(const BoundArgs &args, size_t spatialDims);

// An Upsample (or F.interpolate) of an [H, W] plane: its output size and,
// per dim, the scale from output to source coordinates PyTorch's kernels
// use (1/scale_factor when given, else in/out; (in-1)/(out-1) for
// align_corners), as float. nullopt when the output would be empty.
struct UpsampleGeometry {
  int64_t out[2] = {0, 0};
  float scale[2] = {0, 0};
  bool bilinear = false;
  bool alignCorners = false;
};
std::optional<UpsampleGeometry> upsampleGeometry(const BoundArgs &args, int64_t H, int64_t W);
// The arguments of an Upsample, UpsamplingNearest2d or UpsamplingBilinear2d
// as the Upsample they make (mode and align_corners filled in).
BoundArgs upsampleArgs(const LayerSpec &layer, const BoundArgs &args);

// PyTorch's pooling output size (ceil_mode included); may be < 1.
int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                       bool ceilMode);

} // namespace seq::sema

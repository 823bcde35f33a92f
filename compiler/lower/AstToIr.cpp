// AstToIr: one IR node (or a few) per traced operation. The layer's
// parameters become params (state_dict order) and pack steps that lay them
// out for the kernels: Linear weights transposed to [K, N] in the panels
// seqk_gemm_packed reads, the rest as PyTorch stores them.
#include "lower/AstToIr.h"

#include "sema/Layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <map>

namespace seq::lower {

using namespace seq::sema;
using ir::Graph;
using ir::Node;
using ir::OpKind;

std::string symbolPrefix(const std::string &modelName) {
  std::string prefix;
  for (char c : modelName)
    prefix += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
  if (prefix.empty() || std::isdigit(static_cast<unsigned char>(prefix[0])))
    prefix = "m_" + prefix;
  return prefix;
}

namespace {

ir::Shape toShape(const SymShape &shape) {
  ir::Shape out;
  for (const SymInt &d : shape)
    out.dims.push_back(d.isConstant() ? d.constant : ir::kBatch);
  return out;
}

class Lowering {
public:
  explicit Lowering(const CheckedModel &model) : model_(model) {}

  Graph run() {
    graph_.modelName = model_.name;
    graph_.symbolPrefix = symbolPrefix(model_.name);
    for (const ModelInput &in : model_.inputs) {
      graph_.inputNames.push_back(in.name);
      if (in.batchName.empty())
        graph_.fixedBatch = in.shape[0].constant;
    }
    for (const ParamEntry &p : stateDict(*model_.root)) {
      int id = graph_.addParam(p.name, p.shape);
      params_.emplace(std::make_pair(p.owner, p.local), id);
    }
    for (size_t i = 0; i < model_.trace.inputs.size(); ++i) {
      int v = value(model_.trace.inputs[i]);
      graph_.value(v).storage = ir::Storage::Input;
      graph_.value(v).inputIndex = int(i);
      graph_.value(v).name = model_.inputs[i].name;
      graph_.inputs.push_back(v);
    }
    for (const TraceNode &node : model_.trace.nodes)
      lower(node);
    graph_.output = value(model_.trace.output);
    return std::move(graph_);
  }

private:
  int value(int traceId) {
    auto it = values_.find(traceId);
    if (it != values_.end())
      return it->second;
    int id = graph_.addValue(toShape(model_.trace.values[size_t(traceId)].shape), "");
    values_[traceId] = id;
    return id;
  }

  int param(const ModuleInst *owner, const char *local) {
    auto it = params_.find({owner, local});
    return it == params_.end() ? -1 : it->second;
  }

  // A packed tensor copied from a param (viewed as [rows, cols]).
  int copy(int param, int64_t rows, int64_t cols, int layout) {
    if (param < 0)
      return -1;
    int packed = graph_.addPacked(graph_.params[size_t(param)].name, ir::packedMatrixSize(rows, cols, layout));
    ir::PackStep step;
    step.op = ir::PackOp::Copy;
    step.transpose = layout;
    step.src[0] = param;
    step.out = packed;
    step.rows = rows;
    step.cols = cols;
    graph_.packSteps.push_back(step);
    return packed;
  }

  int emit(OpKind kind, std::vector<int> inputs, int output, const TraceNode &from,
           ir::Attrs attrs = {}) {
    Node node;
    node.kind = kind;
    node.inputs = std::move(inputs);
    node.output = output;
    node.attrs = attrs;
    node.name = from.module ? from.module->path() : "";
    node.loc = from.module ? from.module->range() : from.range;
    if (graph_.value(output).name.empty())
      graph_.value(output).name = node.name;
    if (kind == OpKind::Reshape) {
      graph_.value(output).storage = ir::Storage::Alias;
      graph_.value(output).aliasOf = node.inputs[0];
    }
    return graph_.addNode(std::move(node));
  }

  // A fresh value of `shape` for intermediate results (Conv1d's reshapes).
  int temporary(ir::Shape shape) { return graph_.addValue(std::move(shape), ""); }

  void lower(const TraceNode &t) {
    int out = value(t.output);
    std::vector<int> inputs;
    for (int in : t.inputs)
      inputs.push_back(value(in));
    ir::Attrs a;
    switch (t.kind) {
    case TraceNode::Kind::View:
      emit(OpKind::Reshape, inputs, out, t);
      return;
    case TraceNode::Kind::Concat:
      a.dim = t.dim;
      emit(OpKind::Concat, inputs, out, t, a);
      return;
    case TraceNode::Kind::Binary:
    case TraceNode::Kind::Scalar:
      a.binary = binaryKind(t.op);
      a.scalar = float(t.scalar);
      a.reversed = t.scalarOnLeft;
      emit(t.kind == TraceNode::Kind::Binary ? OpKind::Binary : OpKind::Scalar, inputs, out, t, a);
      return;
    case TraceNode::Kind::Layer:
      lowerLayer(t, inputs[0], out);
      return;
    case TraceNode::Kind::Slice:
      a.dim = t.dim;
      a.start = t.start;
      a.step = t.step;
      emit(OpKind::Slice, inputs, out, t, a);
      return;
    case TraceNode::Kind::Permute:
      a.perm = t.dims;
      emit(OpKind::Permute, inputs, out, t, a);
      return;
    case TraceNode::Kind::Reduce:
      lowerReduce(t, inputs[0], out);
      return;
    }
  }

  static ir::BinaryKind binaryKind(ast::BinaryOp op) {
    switch (op) {
    case ast::BinaryOp::Sub: return ir::BinaryKind::Sub;
    case ast::BinaryOp::Mul: return ir::BinaryKind::Mul;
    case ast::BinaryOp::Div: return ir::BinaryKind::Div;
    default: return ir::BinaryKind::Add;
    }
  }

  void lowerLayer(const TraceNode &t, int in, int out) {
    std::string_view name = t.layer->name;
    const BoundArgs &args = t.layerArgs();
    const ModuleInst *m = t.module;
    ir::Attrs a;
    if (name == "Linear") {
      int64_t k = args.getInt("in_features"), n = args.getInt("out_features");
      a.weight = copy(param(m, "weight"), n, k, ir::kLayoutPanels);
      a.bias = copy(param(m, "bias"), n, 1, ir::kLayoutRows);
      emit(OpKind::Linear, {in}, out, t, a);
    } else if (name == "Conv2d" || name == "Conv1d") {
      lowerConv(t, in, out, name == "Conv1d" ? 1 : 2);
    } else if (name == "MaxPool2d" || name == "AvgPool2d") {
      std::vector<int64_t> k = args.getInts("kernel_size", 2);
      std::vector<int64_t> s = args.get("stride").kind == Value::Kind::None ? k : args.getInts("stride", 2);
      std::vector<int64_t> p = args.getInts("padding", 2);
      a.kernel[0] = k[0], a.kernel[1] = k[1];
      a.stride[0] = s[0], a.stride[1] = s[1];
      a.pad[0] = a.pad[2] = p[0];
      a.pad[1] = a.pad[3] = p[1];
      if (name == "MaxPool2d") {
        std::vector<int64_t> d = args.getInts("dilation", 2);
        a.dilation[0] = d[0], a.dilation[1] = d[1];
      } else {
        a.countIncludePad = args.getBool("count_include_pad");
      }
      a.ceilMode = args.getBool("ceil_mode");
      emit(name == "MaxPool2d" ? OpKind::MaxPool2d : OpKind::AvgPool2d, {in}, out, t, a);
    } else if (name == "AdaptiveAvgPool2d" || name == "AdaptiveMaxPool2d") {
      emit(name == "AdaptiveAvgPool2d" ? OpKind::AdaptiveAvgPool2d : OpKind::AdaptiveMaxPool2d, {in},
           out, t, a);
    } else if (name == "MaxPool1d" || name == "AvgPool1d" || name == "AdaptiveAvgPool1d") {
      lowerPool1d(t, in, out);
    } else if (name.ends_with("Pad2d")) {
      std::vector<int64_t> p = args.getInts("padding", 4); // left, right, top, bottom
      a.pad[0] = p[2], a.pad[1] = p[0], a.pad[2] = p[3], a.pad[3] = p[1];
      a.padMode = name == "ReflectionPad2d"    ? ir::PadMode::Reflect
                  : name == "ReplicationPad2d" ? ir::PadMode::Replicate
                                               : ir::PadMode::Zeros;
      a.padValue = name == "ConstantPad2d" ? float(args.getFloat("value")) : 0.0f;
      emit(OpKind::Pad, {in}, out, t, a);
    } else if (name == "BatchNorm1d" || name == "BatchNorm2d") {
      a.bnGamma = param(m, "weight");
      a.bnBeta = param(m, "bias");
      a.bnMean = param(m, "running_mean");
      a.bnVar = param(m, "running_var");
      a.eps = float(args.getFloat("eps"));
      emit(OpKind::BatchNorm, {in}, out, t, a);
    } else if (name == "LayerNorm") {
      int64_t size = 1;
      for (const Value &d : args.get("normalized_shape").kind == Value::Kind::Int
                                ? std::vector<Value>{args.get("normalized_shape")}
                                : args.get("normalized_shape").items())
        size *= d.asInt();
      a.normSize = size;
      a.weight = copy(param(m, "weight"), size, 1, false);
      a.bias = copy(param(m, "bias"), size, 1, false);
      a.eps = float(args.getFloat("eps"));
      emit(OpKind::LayerNorm, {in}, out, t, a);
    } else if (name == "Softmax" || name == "LogSoftmax") {
      int64_t rank = int64_t(graph_.value(in).shape.rank()), dim = args.getInt("dim");
      a.dim = dim < 0 ? dim + rank : dim;
      a.log = name == "LogSoftmax";
      emit(OpKind::Softmax, {in}, out, t, a);
    } else if (name == "Flatten") {
      emit(OpKind::Reshape, {in}, out, t);
    } else if (name == "Dropout" || name == "Dropout2d" || name == "Identity" ||
               name == "StochasticDepth") {
      emit(OpKind::Identity, {in}, out, t);
    } else if (name == "GroupNorm" || name == "PReLU" || name == "ConvTranspose2d" ||
               name.starts_with("Upsampl")) {
      lowerVersion2Layer(t, in, out);
    } else if (t.layer->unary) {
      lowerActivation(t, *t.layer->unary, in, out);
    } else {
      throw std::logic_error("no lowering for layer " + std::string(name));
    }
  }

  // GroupNorm, PReLU, ConvTranspose2d and Upsample: one node each. The
  // transposed convolution's weight [C, OC/g, KH, KW] is packed transposed,
  // [OC/g*KH*KW, C], the A of its GEMM.
  void lowerVersion2Layer(const TraceNode &t, int in, int out) {
    std::string_view name = t.layer->name;
    const BoundArgs &args = t.layerArgs();
    const ModuleInst *m = t.module;
    ir::Attrs a;
    const ir::Shape &shape = graph_.value(in).shape;
    if (name == "GroupNorm") {
      int64_t c = args.getInt("num_channels");
      a.groups = args.getInt("num_groups");
      a.eps = float(args.getFloat("eps"));
      a.weight = copy(param(m, "weight"), c, 1, ir::kLayoutRows);
      a.bias = copy(param(m, "bias"), c, 1, ir::kLayoutRows);
      emit(OpKind::GroupNorm, {in}, out, t, a);
    } else if (name == "PReLU") {
      a.weight = copy(param(m, "weight"), args.getInt("num_parameters"), 1, ir::kLayoutRows);
      emit(OpKind::PRelu, {in}, out, t, a);
    } else if (name == "ConvTranspose2d") {
      std::vector<int64_t> k = args.getInts("kernel_size", 2), s = args.getInts("stride", 2),
                           p = args.getInts("padding", 2), d = args.getInts("dilation", 2),
                           op = args.getInts("output_padding", 2);
      for (size_t i = 0; i < 2; ++i) {
        a.kernel[i] = k[i], a.stride[i] = s[i], a.dilation[i] = d[i], a.outputPadding[i] = op[i];
        a.pad[i] = a.pad[i + 2] = p[i];
      }
      a.groups = args.getInt("groups");
      int64_t c = args.getInt("in_channels"), ocPerGroup = args.getInt("out_channels") / a.groups;
      a.weight = copy(param(m, "weight"), c, ocPerGroup * k[0] * k[1], ir::kLayoutTransposed);
      a.bias = copy(param(m, "bias"), args.getInt("out_channels"), 1, ir::kLayoutRows);
      emit(OpKind::ConvTranspose2d, {in}, out, t, a);
    } else {
      std::optional<UpsampleGeometry> g =
          upsampleGeometry(upsampleArgs(*t.layer, args), shape.dims[2], shape.dims[3]);
      if (!g)
        throw std::logic_error("an empty Upsample reached the lowering");
      a.bilinear = g->bilinear;
      a.alignCorners = g->alignCorners;
      a.scale[0] = g->scale[0], a.scale[1] = g->scale[1];
      emit(OpKind::Upsample, {in}, out, t, a);
    }
  }

  // Unary with the kernel arguments of Activations.def, read from the
  // layer's arguments of the same names (a choice as its index).
  void lowerActivation(const TraceNode &t, ir::UnaryKind kind, int in, int out) {
    ir::Attrs a;
    a.unary = kind;
    float *values[] = {&a.alpha, &a.beta};
    for (int i = 0; i < ir::unaryArity(kind); ++i) {
      const Value &v = t.layerArgs().get(ir::unaryArgName(kind, i));
      std::vector<std::string> choices = ir::unaryArgChoices(kind, i);
      auto at = std::find(choices.begin(), choices.end(), v.str());
      *values[i] = choices.empty() ? float(v.asDouble()) : float(at - choices.begin());
    }
    emit(OpKind::Unary, {in}, out, t, a);
  }

  // A 1-d pool runs as its 2-d form over [N, C, 1, L] between two reshapes.
  void lowerPool1d(const TraceNode &t, int in, int out) {
    std::string_view name = t.layer->name;
    const BoundArgs &args = t.layerArgs();
    ir::Attrs a;
    OpKind kind = OpKind::AdaptiveAvgPool2d;
    if (name != "AdaptiveAvgPool1d") {
      int64_t k = args.getInts("kernel_size", 1)[0];
      int64_t s = args.get("stride").kind == Value::Kind::None ? k : args.getInts("stride", 1)[0];
      int64_t p = args.getInts("padding", 1)[0];
      a.kernel[1] = k, a.stride[1] = s, a.pad[1] = a.pad[3] = p;
      a.ceilMode = args.getBool("ceil_mode");
      if (name == "MaxPool1d") {
        a.dilation[1] = args.getInts("dilation", 1)[0];
        kind = OpKind::MaxPool2d;
      } else {
        a.countIncludePad = args.getBool("count_include_pad");
        kind = OpKind::AvgPool2d;
      }
    }
    ir::Shape s4 = graph_.value(in).shape, o4 = graph_.value(out).shape;
    s4.dims.insert(s4.dims.begin() + 2, 1);
    o4.dims.insert(o4.dims.begin() + 2, 1);
    int x = temporary(s4), y = temporary(o4);
    emit(OpKind::Reshape, {in}, x, t);
    emit(kind, {x}, y, t, a);
    emit(OpKind::Reshape, {y}, out, t);
  }

  // A reduction over sorted dims: one Reduce per run of neighbouring dims,
  // the innermost first (each keeps its dims as size 1). A mean over
  // several runs is a mean of means, equal up to rounding.
  void lowerReduce(const TraceNode &t, int in, int out) {
    std::vector<std::pair<int64_t, int64_t>> runs; // [dim, span)
    for (int64_t d : t.dims) {
      if (!runs.empty() && runs.back().first + runs.back().second == d)
        ++runs.back().second;
      else
        runs.push_back({d, 1});
    }
    int x = in;
    for (size_t r = runs.size(); r-- > 0;) {
      ir::Attrs a;
      a.reduce = t.reduce;
      a.dim = runs[r].first;
      a.span = runs[r].second;
      ir::Shape shape = graph_.value(x).shape;
      for (int64_t d = a.dim; d < a.dim + a.span; ++d)
        shape.dims[size_t(d)] = 1;
      int y = r == 0 ? out : temporary(shape);
      emit(OpKind::Reduce, {x}, y, t, a);
      x = y;
    }
  }

  // Conv1d runs as a Conv2d of height 1 between two reshapes; a padding
  // mode other than zeros becomes an explicit Pad before the convolution.
  void lowerConv(const TraceNode &t, int in, int out, size_t dims) {
    const BoundArgs &args = t.layerArgs();
    const ModuleInst *m = t.module;
    std::vector<int64_t> k = args.getInts("kernel_size", dims), s = args.getInts("stride", dims),
                         d = args.getInts("dilation", dims), pad = convPadding(args, dims);
    ir::Attrs a;
    a.kernel[0] = dims == 2 ? k[0] : 1, a.kernel[1] = k[dims - 1];
    a.stride[0] = dims == 2 ? s[0] : 1, a.stride[1] = s[dims - 1];
    a.dilation[0] = dims == 2 ? d[0] : 1, a.dilation[1] = d[dims - 1];
    for (int i = 0; i < 4; ++i)
      a.pad[i] = pad[size_t(i)];
    a.groups = args.getInt("groups");
    int64_t oc = args.getInt("out_channels"), cPerGroup = args.getInt("in_channels") / a.groups;
    a.weight = copy(param(m, "weight"), oc, cPerGroup * a.kernel[0] * a.kernel[1], false);
    a.bias = copy(param(m, "bias"), oc, 1, false);

    int x = in;
    ir::Shape inShape = graph_.value(in).shape, outShape = graph_.value(out).shape;
    if (dims == 1) {
      ir::Shape s4 = inShape;
      s4.dims.insert(s4.dims.begin() + 2, 1);
      x = temporary(s4);
      emit(OpKind::Reshape, {in}, x, t);
    }
    const std::string &mode = args.getStr("padding_mode");
    if (mode != "zeros" && (a.pad[0] || a.pad[1] || a.pad[2] || a.pad[3])) {
      ir::Attrs p;
      std::copy(a.pad, a.pad + 4, p.pad);
      p.padMode = mode == "reflect" ? ir::PadMode::Reflect
                  : mode == "replicate" ? ir::PadMode::Replicate : ir::PadMode::Circular;
      ir::Shape padded = graph_.value(x).shape;
      padded.dims[2] += a.pad[0] + a.pad[2];
      padded.dims[3] += a.pad[1] + a.pad[3];
      int y = temporary(padded);
      emit(OpKind::Pad, {x}, y, t, p);
      x = y;
      std::fill(a.pad, a.pad + 4, 0);
    }
    if (dims == 1) {
      ir::Shape o4 = outShape;
      o4.dims.insert(o4.dims.begin() + 2, 1);
      int y = temporary(o4);
      emit(OpKind::Conv2d, {x}, y, t, a);
      emit(OpKind::Reshape, {y}, out, t);
    } else {
      emit(OpKind::Conv2d, {x}, out, t, a);
    }
  }

  const CheckedModel &model_;
  Graph graph_;
  std::map<int, int> values_;
  std::map<std::pair<const ModuleInst *, std::string>, int> params_;
};

} // namespace

ir::Graph lowerModel(const CheckedModel &model) { return Lowering(model).run(); }

} // namespace seq::lower

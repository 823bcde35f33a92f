// Printer: a Graph as MLIR-flavoured text, one line per node.
#include "ir/Printer.h"

#include "ir/Liveness.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace seq::ir {

namespace {

std::string pair(const int64_t *v) { return fmt::format("[{},{}]", v[0], v[1]); }
std::string quad(const int64_t *v) { return fmt::format("[{},{},{},{}]", v[0], v[1], v[2], v[3]); }

const char *name(PadMode mode) {
  switch (mode) {
  case PadMode::Zeros: return "zeros";
  case PadMode::Reflect: return "reflect";
  case PadMode::Replicate: return "replicate";
  case PadMode::Circular: return "circular";
  }
  return "?";
}

const char *name(PackOp op) {
  switch (op) {
  case PackOp::Copy: return "copy";
  case PackOp::FoldBatchNorm: return "fold_batch_norm";
  case PackOp::BatchNormScaleShift: return "batch_norm_scale_shift";
  case PackOp::Zero: return "zero";
  }
  return "?";
}

// A kernel argument of an activation as written: 0.1, or a choice's name.
std::string unaryArg(UnaryKind kind, int index, float value) {
  std::vector<std::string> choices = unaryArgChoices(kind, index);
  if (!choices.empty() && value >= 0 && size_t(value) < choices.size())
    return choices[size_t(value)];
  return fmt::format("{}", value);
}

// "negative_slope=0.1", or "" for an activation without arguments.
std::string unaryAttributes(UnaryKind kind, float alpha, float beta) {
  std::vector<std::string> parts;
  const float values[] = {alpha, beta};
  for (int i = 0; i < unaryArity(kind); ++i)
    parts.push_back(fmt::format("{}={}", unaryArgName(kind, i), unaryArg(kind, i, values[i])));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// "x op 2" as a call: mul(x, 2), or sub(2, x) when reversed.
std::string scalarCall(BinaryKind op, const std::string &x, float scalar, bool reversed) {
  return reversed ? fmt::format("{}({}, {})", name(op), scalar, x)
                  : fmt::format("{}({}, {})", name(op), x, scalar);
}

// The {...} attributes of kinds that have them, with a leading space.
std::string attributes(const Node &node) {
  const Attrs &a = node.attrs;
  std::string text;
  bool dilated = a.dilation[0] != 1 || a.dilation[1] != 1;
  switch (node.kind) {
  case OpKind::Conv2d:
    text = fmt::format("kernel={}, stride={}, pad={}, groups={}", pair(a.kernel), pair(a.stride),
                       quad(a.pad), a.groups);
    text += dilated ? ", dilation=" + pair(a.dilation) : "";
    break;
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
    text = fmt::format("kernel={}, stride={}, pad={}", pair(a.kernel), pair(a.stride), quad(a.pad));
    text += dilated ? ", dilation=" + pair(a.dilation) : "";
    text += a.ceilMode ? ", ceil_mode" : "";
    text += node.kind == OpKind::AvgPool2d && !a.countIncludePad ? ", exclude_pad" : "";
    break;
  case OpKind::Pad:
    text = fmt::format("pad={}, mode={}", quad(a.pad), name(a.padMode));
    text += a.padValue != 0 ? fmt::format(", value={}", a.padValue) : "";
    break;
  case OpKind::BatchNorm: text = fmt::format("eps={}", a.eps); break;
  case OpKind::LayerNorm: text = fmt::format("size={}, eps={}", a.normSize, a.eps); break;
  case OpKind::Softmax:
  case OpKind::Concat: text = fmt::format("dim={}", a.dim); break;
  case OpKind::Slice: text = fmt::format("dim={}, start={}, step={}", a.dim, a.start, a.step); break;
  case OpKind::Permute: text = fmt::format("perm=[{}]", fmt::join(a.perm, ",")); break;
  case OpKind::Reduce:
    text = fmt::format("{}, dims=[{}..{}]", name(a.reduce), a.dim, a.dim + a.span - 1);
    break;
  case OpKind::Unary: text = unaryAttributes(a.unary, a.alpha, a.beta); break;
  case OpKind::GroupNorm: text = fmt::format("groups={}, eps={}", a.groups, a.eps); break;
  case OpKind::ConvTranspose2d:
    text = fmt::format("kernel={}, stride={}, pad={}, output_padding={}, groups={}", pair(a.kernel),
                       pair(a.stride), pair(a.pad), pair(a.outputPadding), a.groups);
    text += dilated ? ", dilation=" + pair(a.dilation) : "";
    break;
  case OpKind::Upsample:
    text = fmt::format("{}{}, scale=[{}, {}]", a.bilinear ? "bilinear" : "nearest",
                       a.alignCorners ? ", align_corners" : "", a.scale[0], a.scale[1]);
    break;
  default: break;
  }
  return text.empty() ? "" : " {" + text + "}";
}

// The tensors beside the inputs: packed weights, BatchNorm params.
std::string operands(const Node &node) {
  const Attrs &a = node.attrs;
  std::string text;
  if (a.weight >= 0)
    text += fmt::format(" weight=#{}", a.weight);
  if (a.bias >= 0)
    text += fmt::format(" bias=#{}", a.bias);
  const std::pair<const char *, int> params[] = {
      {"gamma", a.bnGamma}, {"beta", a.bnBeta}, {"mean", a.bnMean}, {"var", a.bnVar}};
  if (node.kind == OpKind::BatchNorm)
    for (auto [label, id] : params)
      if (id >= 0)
        text += fmt::format(" {}=${}", label, id);
  return text;
}

std::string call(const Node &node) {
  std::vector<std::string> args;
  for (int in : node.inputs)
    args.push_back(fmt::format("%{}", in));
  const Attrs &a = node.attrs;
  switch (node.kind) {
  case OpKind::Scalar: return scalarCall(a.binary, args.at(0), a.scalar, a.reversed);
  case OpKind::Unary: return fmt::format("{}({})", name(a.unary), fmt::join(args, ", "));
  case OpKind::Binary: return fmt::format("{}({})", name(a.binary), fmt::join(args, ", "));
  case OpKind::Softmax:
    return fmt::format("{}({})", a.log ? "log_softmax" : "softmax", fmt::join(args, ", "));
  default: return fmt::format("{}({})", name(node.kind), fmt::join(args, ", "));
  }
}

std::string location(const Node &node, const SourceManager *sources) {
  std::string where;
  if (sources && node.loc.valid()) {
    LineColumn lc = sources->lineColumn(node.loc.file, node.loc.begin);
    where = fmt::format("{}:{}:{}", sources->name(node.loc.file), lc.line, lc.column);
  }
  if (node.name.empty() && where.empty())
    return "";
  if (where.empty())
    return "  // " + node.name;
  return node.name.empty() ? "  // " + where : "  // " + node.name + " @ " + where;
}

std::string nodeLine(const Graph &g, const Node &node, const SourceManager *sources) {
  std::string line = fmt::format("  %{} = {}{}{}", node.output, call(node), attributes(node), operands(node));
  if (!node.epilogue.empty()) {
    std::vector<std::string> ops;
    for (const EpilogueOp &op : node.epilogue)
      ops.push_back(print(op));
    line += fmt::format(" epilogue=[{}]", fmt::join(ops, ", "));
  }
  if (node.fusedInto >= 0 && size_t(node.fusedInto) < g.nodes.size())
    line += fmt::format(" fused_into=%{}", g.nodes[size_t(node.fusedInto)].output);
  return line + " : " + g.value(node.output).shape.str() + location(node, sources) + "\n";
}

std::string weightsSection(const Graph &g) {
  std::string out;
  for (size_t i = 0; i < g.params.size(); ++i)
    out += fmt::format("  param ${} '{}' {}\n", i, g.params[i].name,
                       Shape{g.params[i].shape}.str());
  for (size_t i = 0; i < g.packed.size(); ++i) {
    const Packed &p = g.packed[i];
    out += fmt::format("  packed #{} '{}' {} floats", i, p.name, p.size);
    out += p.offset >= 0 ? fmt::format(" at {}\n", p.offset) : "\n";
  }
  for (const PackStep &s : g.packSteps) {
    std::vector<std::string> srcs;
    for (int src : s.src)
      srcs.push_back(src >= 0 ? fmt::format("${}", src) : "_");
    if (s.op == PackOp::Copy || s.op == PackOp::Zero)
      srcs.resize(s.op == PackOp::Copy ? 1 : 0);
    std::string dst = s.out2 >= 0 ? fmt::format("#{}, #{}", s.out, s.out2) : fmt::format("#{}", s.out);
    out += fmt::format("  pack {} = {}({}) {{rows={}, cols={}", dst, name(s.op), fmt::join(srcs, ", "),
                       s.rows, s.cols);
    out += s.transpose == kLayoutTransposed ? ", transpose"
           : s.transpose == kLayoutPanels   ? ", panels"
           : s.transpose == kLayoutWinograd ? ", winograd"
                                            : "";
    out += s.op == PackOp::FoldBatchNorm || s.op == PackOp::BatchNormScaleShift
               ? fmt::format(", eps={}}}\n", s.eps)
               : "}\n";
  }
  if (g.packedSize > 0)
    out += fmt::format("  packed size {} floats\n", g.packedSize);
  return out;
}

std::string workspaceSection(const Graph &g) {
  if (!hasWorkspace(g))
    return "";
  std::string out = "  workspace";
  if (g.workspaceFixed)
    out += fmt::format(" {} bytes", g.workspaceFixed);
  if (g.workspacePerBatch)
    out += fmt::format("{} {} bytes per batch item", g.workspaceFixed ? " +" : "", g.workspacePerBatch);
  if (g.imageSlotBytes)
    out += fmt::format(", image by image: a slot of {} bytes per image", g.imageSlotBytes);
  if (g.headStart >= 0)
    out += fmt::format("; nodes {}.. over the batch after the images, in {} bytes per batch item", g.headStart,
                       g.headBytesPerBatch);
  out += "\n";
  for (const Buffer &b : workspaceBuffers(g)) {
    std::string what = b.value >= 0 ? fmt::format("%{}", b.value)
                                    : fmt::format("scratch(node {})", g.scratch[size_t(b.scratch)].node);
    out += fmt::format("    {} at {}{}, {} bytes, nodes {}..{}\n", what, bufferOffset(g, b),
                       b.batched && g.workspaceFixed ? " of the per-batch region" : "", b.bytes,
                       b.first, b.last);
  }
  for (const Value &v : g.values)
    if (v.storage == Storage::Head)
      out += fmt::format("    %{} at {} of the head's region, {} bytes\n", v.id, v.offsetPerBatch,
                         alignTo(valueBytes(g, v.id), kWorkspaceAlignment));
  for (const Value &v : g.values)
    if (v.storage == Storage::Slice)
      out += fmt::format("    %{} in %{} at byte {} of each image (the concat's input, in place)\n", v.id,
                         v.aliasOf, v.sliceOffset);
  return out;
}

} // namespace

std::string print(const EpilogueOp &op) {
  switch (op.kind) {
  case EpilogueOp::Kind::Bias: return fmt::format("bias(#{})", op.packed);
  case EpilogueOp::Kind::ChannelAffine: return fmt::format("affine(#{}, #{})", op.packed, op.packed2);
  case EpilogueOp::Kind::Unary: {
    if (unaryArity(op.unary) == 0)
      return name(op.unary);
    std::string args = unaryArg(op.unary, 0, op.alpha);
    if (unaryArity(op.unary) > 1)
      args += ", " + unaryArg(op.unary, 1, op.beta);
    return fmt::format("{}({})", name(op.unary), args);
  }
  case EpilogueOp::Kind::AddTensor: return fmt::format("add(%{})", op.tensor);
  case EpilogueOp::Kind::MulTensor: return fmt::format("mul(%{})", op.tensor);
  case EpilogueOp::Kind::Scalar: return scalarCall(op.scalarOp, "x", op.scalar, op.reversed);
  }
  return "?";
}

std::string print(const Graph &g, const SourceManager *sources) {
  std::string batch = g.fixedBatch > 0 ? std::to_string(g.fixedBatch) : "N";
  std::string out = fmt::format("graph @{} (prefix '{}', batch {}) {{\n", g.modelName, g.symbolPrefix, batch);
  out += weightsSection(g);
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const Value &v = g.value(g.inputs[k]);
    out += fmt::format("  input %{} '{}' : {}\n", v.id, v.name, v.shape.str());
  }
  for (const Node &node : g.nodes)
    out += nodeLine(g, node, sources);
  const Value &result = g.storageOf(g.output);
  bool inOutputBuffer = result.storage == Storage::Output;
  out += fmt::format("  return %{}{}\n", g.output,
                     inOutputBuffer && result.id != g.output ? fmt::format(" (output buffer: %{})", result.id) : "");
  out += workspaceSection(g);
  return out + "}\n";
}

} // namespace seq::ir

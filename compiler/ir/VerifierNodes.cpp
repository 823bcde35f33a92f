// VerifierNodes: the Verifier's checks of each node: its operands' and
// output's shapes for its op, its packed weights' sizes, and its epilogue.
#include "ir/ConvScratch.h"
#include "ir/VerifierChecks.h"

#include <algorithm>

namespace seq::ir::detail {

// ---- nodes --------------------------------------------------------------------

void Verifier::checkNodeShapes(int i) {
  if (!checkArity(i))
    return;
  switch (g_.nodes[size_t(i)].kind) {
  case OpKind::Linear: return checkLinear(i);
  case OpKind::Conv2d: return checkConv(i);
  case OpKind::Pad:
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::AdaptiveAvgPool2d:
  case OpKind::AdaptiveMaxPool2d: return checkPool(i);
  case OpKind::Slice:
  case OpKind::Permute:
  case OpKind::Reduce: return checkShapeOp(i);
  case OpKind::BatchNorm:
  case OpKind::LayerNorm: return checkNorm(i);
  case OpKind::Binary: return checkBinary(i);
  case OpKind::Reshape: return checkReshape(i);
  case OpKind::Concat: return checkConcat(i);
  case OpKind::Softmax:
    if (g_.nodes[size_t(i)].attrs.dim >= int64_t(shapeOf(g_.nodes[size_t(i)].output).rank()))
      error("{}: dim {} is out of range", where(i), g_.nodes[size_t(i)].attrs.dim);
    return expectSameShape(i, g_.nodes[size_t(i)].inputs[0]);
  case OpKind::Unary:
  case OpKind::Scalar:
  case OpKind::Identity:
  case OpKind::Map:
  case OpKind::Copy: return expectSameShape(i, g_.nodes[size_t(i)].inputs[0]);
  case OpKind::GroupNorm:
  case OpKind::PRelu: return checkChannelOp(i);
  case OpKind::ConvTranspose2d: return checkConvTranspose(i);
  case OpKind::Upsample: return checkPool(i);
  case OpKind::Input: return;
  }
}

bool Verifier::checkArity(int i) {
  const Node &node = g_.nodes[size_t(i)];
  size_t expected = node.kind == OpKind::Binary ? 2 : 1;
  bool ok = node.kind == OpKind::Concat ? !node.inputs.empty() : node.inputs.size() == expected;
  if (!ok)
    error("{}: takes {} input(s), has {}", where(i),
          node.kind == OpKind::Concat ? std::string("at least 1") : std::to_string(expected),
          node.inputs.size());
  return ok;
}

void Verifier::expectSameShape(int i, int in) {
  const Shape &out = shapeOf(g_.nodes[size_t(i)].output);
  if (!(shapeOf(in) == out))
    error("{}: output {} must have the shape of its input {}", where(i), out.str(),
          shapeOf(in).str());
}

void Verifier::expectPackedSize(int i, const char *what, int packed, int64_t size) {
  if (packed >= 0 && g_.packed[size_t(packed)].size != size)
    error("{}: {} #{} has {} floats, expected {}", where(i), what, packed,
          g_.packed[size_t(packed)].size, size);
}

void Verifier::checkLinear(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Shape &in = shapeOf(node.inputs[0]), &out = shapeOf(node.output);
  if (in.rank() == 0 || in.rank() != out.rank() ||
      !std::equal(in.dims.begin(), in.dims.end() - 1, out.dims.begin()))
    return error("{}: output {} does not match input {}", where(i), out.str(), in.str());
  if (node.attrs.weight < 0)
    return error("{}: has no weight", where(i));
  int64_t k = in.dims.back(), n = out.dims.back();
  // [K, N], transposed or in panels (the pack step's layout says which)
  int w = node.attrs.weight;
  bool panels = validPacked(w) && g_.packed[size_t(w)].size == packedMatrixSize(n, k, kLayoutPanels);
  expectPackedSize(i, "weight", w, panels ? packedMatrixSize(n, k, kLayoutPanels) : k * n);
  expectPackedSize(i, "bias", node.attrs.bias, n);
}

bool Verifier::convChannelsValid(int i, const Shape &in, const Shape &out) {
  int64_t groups = g_.nodes[size_t(i)].attrs.groups;
  if (in.rank() != 4 || out.rank() != 4 || in.dims[0] != out.dims[0]) {
    error("{}: needs [B, C, H, W] tensors, has {} -> {}", where(i), in.str(), out.str());
    return false;
  }
  if (groups <= 0 || in.dims[1] % groups || out.dims[1] % groups) {
    error("{}: {} groups do not divide {} -> {} channels", where(i), groups, in.dims[1], out.dims[1]);
    return false;
  }
  return true;
}

void Verifier::checkConv(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Attrs &a = node.attrs;
  const Shape &in = shapeOf(node.inputs[0]), &out = shapeOf(node.output);
  if (node.fusedInto >= 0) {
    // fused into the depthwise convolution or the max pool after it, its
    // only reader
    const Node *into = size_t(node.fusedInto) < g_.nodes.size() ? &g_.nodes[size_t(node.fusedInto)] : nullptr;
    if (node.fusedInto != i + 1 || !into || (into->kind != OpKind::Conv2d && into->kind != OpKind::MaxPool2d) ||
        into->inputs.empty() || into->inputs[0] != node.output)
      error("{}: fused into node {}, which is not the convolution or max pool right after it reading its output",
            where(i), node.fusedInto);
  }
  if (!convChannelsValid(i, in, out))
    return;
  for (int d = 0; d < 2; ++d) {
    int64_t span = in.dims[2 + d] + a.pad[d] + a.pad[d + 2] - a.dilation[d] * (a.kernel[d] - 1) - 1;
    int64_t expected = a.stride[d] > 0 && span >= 0 ? span / a.stride[d] + 1 : -1;
    if (out.dims[2 + d] != expected)
      error("{}: output {} does not follow from input {}", where(i), out.str(), in.str());
  }
  if (a.weight < 0)
    return error("{}: has no weight", where(i));
  int64_t patch = in.dims[1] / a.groups * a.kernel[0] * a.kernel[1];
  // [OC, patch], as it is, in panels, or Winograd's (the pack step's
  // layout says which)
  int w = a.weight, layout = kLayoutRows;
  for (int candidate : {kLayoutPanels, kLayoutWinograd})
    if (validPacked(w) && g_.packed[size_t(w)].size == packedMatrixSize(out.dims[1], patch, candidate))
      layout = candidate;
  expectPackedSize(i, "weight", w, packedMatrixSize(out.dims[1], patch, layout));
  expectPackedSize(i, "bias", a.bias, out.dims[1]);
}

void Verifier::checkChannelOp(int i) {
  const Node &node = g_.nodes[size_t(i)];
  expectSameShape(i, node.inputs[0]);
  const Shape &shape = shapeOf(node.output);
  int64_t channels = shape.rank() >= 2 ? shape.dims[1] : 1;
  if (node.kind == OpKind::GroupNorm) {
    if (shape.rank() < 2 || node.attrs.groups <= 0 || channels % node.attrs.groups)
      return error("{}: {} groups do not divide the channels of {}", where(i), node.attrs.groups, shape.str());
    expectPackedSize(i, "weight", node.attrs.weight, channels);
    expectPackedSize(i, "bias", node.attrs.bias, channels);
    return;
  }
  int w = node.attrs.weight;
  if (!validPacked(w) || (g_.packed[size_t(w)].size != 1 && g_.packed[size_t(w)].size != channels))
    error("{}: needs a weight of 1 or {} floats", where(i), channels);
}

void Verifier::checkConvTranspose(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Attrs &a = node.attrs;
  const Shape &in = shapeOf(node.inputs[0]), &out = shapeOf(node.output);
  if (!convChannelsValid(i, in, out))
    return;
  for (int d = 0; d < 2; ++d)
    if (out.dims[2 + d] != (in.dims[2 + d] - 1) * a.stride[d] - 2 * a.pad[d] +
                               a.dilation[d] * (a.kernel[d] - 1) + a.outputPadding[d] + 1)
      error("{}: output {} does not follow from input {}", where(i), out.str(), in.str());
  if (a.weight < 0)
    return error("{}: has no weight", where(i));
  expectPackedSize(i, "weight", a.weight, in.dims[1] * out.dims[1] / a.groups * a.kernel[0] * a.kernel[1]);
  expectPackedSize(i, "bias", a.bias, out.dims[1]);
}

void Verifier::checkPool(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Shape &in = shapeOf(node.inputs[0]), &out = shapeOf(node.output);
  if (in.rank() != 4 || out.rank() != 4 || in.dims[0] != out.dims[0] || in.dims[1] != out.dims[1])
    return error("{}: output {} does not match input {}", where(i), out.str(), in.str());
  if (node.kind != OpKind::Pad)
    return;
  const int64_t *p = node.attrs.pad;
  if (out.dims[2] != in.dims[2] + p[0] + p[2] || out.dims[3] != in.dims[3] + p[1] + p[3])
    error("{}: output {} does not follow from input {}", where(i), out.str(), in.str());
}

void Verifier::checkNorm(int i) {
  const Node &node = g_.nodes[size_t(i)];
  expectSameShape(i, node.inputs[0]);
  const Shape &shape = shapeOf(node.output);
  const Attrs &a = node.attrs;
  if (node.kind == OpKind::LayerNorm) {
    if (a.normSize <= 0 || shape.elementsPerBatch() % a.normSize)
      return error("{}: normalised size {} does not divide {}", where(i), a.normSize, shape.str());
    expectPackedSize(i, "weight", a.weight, a.normSize);
    expectPackedSize(i, "bias", a.bias, a.normSize);
    return;
  }
  if (shape.rank() < 2)
    return error("{}: needs a channel dim, has {}", where(i), shape.str());
  if (a.bnMean < 0 || a.bnVar < 0)
    return error("{}: needs running mean and variance", where(i));
  for (int param : {a.bnGamma, a.bnBeta, a.bnMean, a.bnVar}) {
    if (param < 0)
      continue;
    int64_t elements = 1;
    for (int64_t d : g_.params[size_t(param)].shape)
      elements *= d;
    if (elements != shape.dims[1])
      error("{}: parameter '{}' has {} elements for {} channels", where(i),
            g_.params[size_t(param)].name, elements, shape.dims[1]);
  }
}

void Verifier::checkBinary(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Shape &a = shapeOf(node.inputs[0]), &b = shapeOf(node.inputs[1]), &out = shapeOf(node.output);
  size_t rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> dims(rank);
  for (size_t d = 0; d < rank; ++d) {
    int64_t x = d + a.rank() >= rank ? a.dims[d + a.rank() - rank] : 1;
    int64_t y = d + b.rank() >= rank ? b.dims[d + b.rank() - rank] : 1;
    if (x != y && x != 1 && y != 1)
      return error("{}: {} and {} do not broadcast", where(i), a.str(), b.str());
    dims[d] = x == 1 ? y : x;
  }
  if (dims != out.dims)
    error("{}: output {} is not the broadcast of {} and {}", where(i), out.str(), a.str(), b.str());
  if (node.fusedInto >= 0) {
    // a channel scale, fused into the convolution right after it reading it
    const Node *into = size_t(node.fusedInto) < g_.nodes.size() ? &g_.nodes[size_t(node.fusedInto)] : nullptr;
    if (node.fusedInto != i + 1 || !into || into->kind != OpKind::Conv2d || into->inputs.empty() ||
        into->inputs[0] != node.output || node.attrs.binary != BinaryKind::Mul ||
        channelScaleOperands(g_, node).scale < 0)
      error("{}: fused into node {}, which is not the convolution right after it reading its product, or the "
            "product is not a channel scale",
            where(i), node.fusedInto);
  }
}

void Verifier::checkReshape(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Value &out = g_.value(node.output);
  if (out.storage != Storage::Alias || out.aliasOf != node.inputs[0])
    error("{}: output %{} must alias its input %{}", where(i), out.id, node.inputs[0]);
  if (shapeOf(node.inputs[0]).elementsPerBatch() != out.shape.elementsPerBatch())
    error("{}: {} and {} hold different numbers of elements", where(i),
          shapeOf(node.inputs[0]).str(), out.shape.str());
}

void Verifier::checkConcat(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Shape &out = shapeOf(node.output);
  size_t dim = size_t(node.attrs.dim);
  if (node.attrs.dim < 0 || dim >= out.rank())
    return error("{}: dim {} is out of range for {}", where(i), node.attrs.dim, out.str());
  int64_t total = 0;
  for (int in : node.inputs) {
    const Shape &s = shapeOf(in);
    bool fits = s.rank() == out.rank();
    for (size_t d = 0; fits && d < s.rank(); ++d)
      fits = d == dim || s.dims[d] == out.dims[d];
    if (!fits)
      return error("{}: input {} does not fit output {}", where(i), s.str(), out.str());
    total += s.dims[dim];
  }
  if (total != out.dims[dim])
    error("{}: inputs add up to {} along dim {}, output has {}", where(i), total, dim, out.dims[dim]);
}

// Slice, Permute, Reduce: the output shape follows from the input's and
// the attributes; the batch dim never moves or changes.
void Verifier::checkShapeOp(int i) {
  const Node &node = g_.nodes[size_t(i)];
  const Attrs &a = node.attrs;
  const Shape &in = shapeOf(node.inputs[0]), &out = shapeOf(node.output);
  std::vector<int64_t> expected = in.dims;
  size_t rank = in.rank();
  bool ok = out.rank() == rank && a.dim >= 0 && size_t(a.dim) < rank;
  if (ok && node.kind == OpKind::Slice) {
    int64_t last = a.start + (out.dims[size_t(a.dim)] - 1) * a.step;
    ok = in.dims[size_t(a.dim)] != kBatch && a.step > 0 && a.start >= 0 &&
         last < in.dims[size_t(a.dim)];
    expected[size_t(a.dim)] = out.dims[size_t(a.dim)];
  } else if (ok && node.kind == OpKind::Permute) {
    std::vector<int64_t> sorted = a.perm;
    std::sort(sorted.begin(), sorted.end());
    ok = a.perm.size() == rank && (!in.batched() || a.perm[0] == 0);
    for (size_t d = 0; ok && d < rank; ++d) {
      ok = sorted[d] == int64_t(d);
      expected[d] = in.dims[size_t(a.perm[d])];
    }
  } else if (ok && node.kind == OpKind::Reduce) {
    ok = a.span >= 1 && size_t(a.dim + a.span) <= rank;
    for (int64_t d = a.dim; ok && d < a.dim + a.span; ++d) {
      ok = in.dims[size_t(d)] != kBatch;
      expected[size_t(d)] = 1;
    }
  }
  if (!ok || expected != out.dims)
    error("{}: output {} does not follow from input {}", where(i), out.str(), in.str());
}

int64_t Verifier::channelsOf(int i) const {
  const Node &node = g_.nodes[size_t(i)];
  const Shape &out = shapeOf(node.output);
  if (node.kind == OpKind::Linear)
    return out.dims.back();
  return out.rank() >= 2 ? out.dims[1] : -1;
}

void Verifier::checkEpilogue(int i) {
  const Node &node = g_.nodes[size_t(i)];
  if (!node.epilogue.empty() && !acceptsEpilogue(node.kind))
    return error("{}: only linear, conv2d, map and concat nodes have epilogues", where(i));
  if (node.kind == OpKind::Map && node.epilogue.empty())
    error("{}: a map needs an epilogue", where(i));
  for (const EpilogueOp &op : node.epilogue) {
    using Kind = EpilogueOp::Kind;
    if (op.kind == Kind::Bias || op.kind == Kind::ChannelAffine) {
      int second = op.kind == Kind::Bias ? op.packed : op.packed2;
      if (!validPacked(op.packed) || !validPacked(second)) {
        error("{}: epilogue names packed tensor #{}, which does not exist", where(i),
              validPacked(op.packed) ? second : op.packed);
        continue;
      }
      expectPackedSize(i, "epilogue channel vector", op.packed, channelsOf(i));
      expectPackedSize(i, "epilogue channel vector", second, channelsOf(i));
    }
    bool readsTensor = op.kind == Kind::AddTensor || op.kind == Kind::MulTensor;
    if (readsTensor && (op.tensor < 0 || !(shapeOf(op.tensor) == shapeOf(node.output))))
      error("{}: epilogue tensor %{} must have the output's shape {}", where(i), op.tensor,
            shapeOf(node.output).str());
  }
}

} // namespace seq::ir::detail

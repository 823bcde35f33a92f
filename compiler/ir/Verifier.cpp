// Verifier: one check per invariant, each reporting every violation it sees.
// Structural checks (ids in range, one producer per value, execution order)
// run first; shape and weight checks only when those pass, so one broken id
// is not reported again as a dozen shape errors.
#include "ir/Verifier.h"

#include "ir/Liveness.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace seq::ir {

namespace {

class Verifier {
public:
  explicit Verifier(const Graph &g) : g_(g) {}

  std::vector<std::string> run() {
    checkIds();
    if (!errors_.empty())
      return errors_;
    checkValues();
    checkOrder();
    checkBatching();
    if (!errors_.empty())
      return errors_;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      checkNodeShapes(int(i));
      checkEpilogue(int(i));
    }
    checkPackSteps();
    checkWeightPlan();
    size_t before = errors_.size();
    checkOutputStorage();
    bool outputPlaced = errors_.size() == before;
    if (memoryPlanned()) {
      checkCodegenContract();
      if (outputPlaced) // else the output shows up as an unplanned buffer too
        checkMemoryPlan();
    }
    return errors_;
  }

private:
  template <typename... Args> void error(fmt::format_string<Args...> format, Args &&...args) {
    errors_.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  std::string where(int node) const {
    return fmt::format("node {} ({})", node, name(g_.nodes[size_t(node)].kind));
  }
  const Shape &shapeOf(int value) const { return g_.value(value).shape; }
  bool validValue(int id) const { return id >= 0 && size_t(id) < g_.values.size(); }
  bool validPacked(int id) const { return id >= 0 && size_t(id) < g_.packed.size(); }
  bool validParam(int id) const { return id >= 0 && size_t(id) < g_.params.size(); }
  // PlanMemory has run: it sets a workspace size, or gives the output its
  // buffer when nothing needs a workspace.
  bool memoryPlanned() const {
    return hasWorkspace(g_) ||
           std::any_of(g_.values.begin(), g_.values.end(),
                       [](const Value &v) { return v.storage == Storage::Output; });
  }
  // ---- structure ----

  void checkIds();
  void checkNodeIds(int i);
  void checkValues();
  void checkOrder();
  void checkBatching();

  // ---- nodes ----

  void checkNodeShapes(int i);
  bool checkArity(int i);
  void checkLinear(int i);
  void checkConv(int i);
  // [B, C, H, W] -> [B, OC, OH, OW], groups dividing C and OC; false (an
  // error reported) otherwise.
  bool convChannelsValid(int i, const Shape &in, const Shape &out);
  void checkPool(int i);
  void checkNorm(int i);
  void checkBinary(int i);
  void checkReshape(int i);
  void checkConcat(int i);
  void checkShapeOp(int i);
  void checkChannelOp(int i);      // GroupNorm, PRelu
  void checkConvTranspose(int i);
  void checkEpilogue(int i);
  int64_t channelsOf(int i) const;
  void expectPackedSize(int i, const char *what, int packed, int64_t size);
  void expectSameShape(int i, int in);

  // ---- weights and memory ----

  void checkPackSteps();
  void checkPackStep(size_t s);
  void expectParamElements(size_t s, int slot, int64_t elements, bool required);
  void checkWeightPlan();
  void checkOutputStorage();
  void checkCodegenContract();
  void checkMemoryPlan();
  bool anyLiveTogetherOverlap(const std::vector<Buffer> &buffers) const;

  const Graph &g_;
  std::vector<std::string> errors_;
};

// ---- structure ----------------------------------------------------------------

void Verifier::checkIds() {
  if (!validValue(g_.output))
    error("graph output %{} is not a value", g_.output);
  for (int in : g_.inputs)
    if (!validValue(in))
      error("graph input %{} is not a value", in);
  for (size_t i = 0; i < g_.values.size(); ++i) {
    const Value &v = g_.values[i];
    if (v.id != int(i))
      error("value at index {} has id {}", i, v.id);
    if (v.producer < -1 || v.producer >= int(g_.nodes.size()))
      error("value %{} names producer node {}, which does not exist", i, v.producer);
    if (v.storage == Storage::Alias && !validValue(v.aliasOf))
      error("value %{} aliases %{}, which does not exist", i, v.aliasOf);
  }
  for (size_t i = 0; i < g_.nodes.size(); ++i)
    checkNodeIds(int(i));
  for (size_t i = 0; i < g_.scratch.size(); ++i)
    if (g_.scratch[i].node < 0 || size_t(g_.scratch[i].node) >= g_.nodes.size())
      error("scratch {} belongs to node {}, which does not exist", i, g_.scratch[i].node);
}

void Verifier::checkNodeIds(int i) {
  const Node &node = g_.nodes[size_t(i)];
  if (node.kind == OpKind::Input)
    error("{}: inputs are values, not nodes", where(i));
  if (!validValue(node.output))
    error("{}: output %{} is not a value", where(i), node.output);
  for (int in : node.inputs)
    if (!validValue(in))
      error("{}: input %{} is not a value", where(i), in);
  for (const EpilogueOp &op : node.epilogue)
    if (op.tensor != -1 && !validValue(op.tensor))
      error("{}: epilogue reads %{}, which does not exist", where(i), op.tensor);
  const Attrs &a = node.attrs;
  for (int packed : {a.weight, a.bias})
    if (packed != -1 && !validPacked(packed))
      error("{}: packed tensor #{} does not exist", where(i), packed);
  for (int param : {a.bnGamma, a.bnBeta, a.bnMean, a.bnVar})
    if (param != -1 && !validParam(param))
      error("{}: parameter ${} does not exist", where(i), param);
}

void Verifier::checkValues() {
  std::vector<int> writers(g_.values.size(), 0), writer(g_.values.size(), -1);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    ++writers[size_t(g_.nodes[i].output)];
    writer[size_t(g_.nodes[i].output)] = int(i);
  }
  std::vector<int> owners = storageOwners(g_);
  std::vector<bool> isInput(g_.values.size(), false);
  for (size_t k = 0; k < g_.inputs.size(); ++k) {
    const Value &v = g_.value(g_.inputs[k]);
    isInput[size_t(v.id)] = true;
    if (v.storage != Storage::Input || v.inputIndex != int(k))
      error("input %{} must have input storage and index {}", v.id, k);
  }
  for (const Value &v : g_.values) {
    int expected = isInput[size_t(v.id)] ? 0 : 1;
    if (writers[size_t(v.id)] != expected)
      error("value %{} is written by {} nodes{}", v.id, writers[size_t(v.id)],
            expected ? "; it must be written by exactly one" : "; it is a model input");
    else if (v.producer != writer[size_t(v.id)])
      error("value %{} names node {} as its producer, but node {} writes it", v.id, v.producer,
            writer[size_t(v.id)]);
    if (v.storage == Storage::Input && !isInput[size_t(v.id)])
      error("value %{} has input storage but is not a model input", v.id);
    if (v.storage == Storage::Alias) {
      if (owners[size_t(v.id)] < 0) // ids are valid here, so the chain cycles
        error("value %{} is in a cycle of aliases", v.id);
      bool fromReshape = v.producer >= 0 && g_.nodes[size_t(v.producer)].kind == OpKind::Reshape;
      if (!fromReshape)
        error("value %{} is an alias but no reshape writes it", v.id);
    }
  }
}

void Verifier::checkOrder() {
  auto definedBefore = [&](int value, int node) {
    return g_.value(value).producer < node;
  };
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    for (int in : g_.nodes[i].inputs)
      if (!definedBefore(in, int(i)))
        error("{}: reads %{} before it is written", where(int(i)), in);
    for (const EpilogueOp &op : g_.nodes[i].epilogue)
      if (op.tensor >= 0 && !definedBefore(op.tensor, int(i)))
        error("{}: epilogue reads %{} before it is written", where(int(i)), op.tensor);
  }
}

void Verifier::checkBatching() {
  bool batched = isBatched(g_);
  for (const Value &v : g_.values) {
    if (v.shape.batched() != batched)
      error("value %{} {} is {}batched, unlike the rest of the graph", v.id, v.shape.str(),
            batched ? "not " : "");
    for (size_t d = v.shape.batched() ? 1 : 0; d < v.shape.rank(); ++d)
      if (v.shape.dims[d] <= 0)
        error("value %{} has a non-positive dimension: {}", v.id, v.shape.str());
  }
  if (batched && g_.fixedBatch != 0)
    error("a graph with fixed batch {} has batched values", g_.fixedBatch);
}

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
    // fused into the depthwise convolution after it, its only reader
    const Node *into = size_t(node.fusedInto) < g_.nodes.size() ? &g_.nodes[size_t(node.fusedInto)] : nullptr;
    if (node.fusedInto != i + 1 || !into || into->kind != OpKind::Conv2d || into->inputs.empty() ||
        into->inputs[0] != node.output)
      error("{}: fused into node {}, which is not the convolution right after it reading its output", where(i),
            node.fusedInto);
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
  // [OC, patch], as it is or in panels (the pack step's layout says which)
  int w = a.weight;
  bool panels = validPacked(w) && g_.packed[size_t(w)].size == packedMatrixSize(out.dims[1], patch, kLayoutPanels);
  expectPackedSize(i, "weight", w, panels ? packedMatrixSize(out.dims[1], patch, kLayoutPanels) : out.dims[1] * patch);
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
  bool accepts = node.kind == OpKind::Linear || node.kind == OpKind::Conv2d || node.kind == OpKind::Map;
  if (!node.epilogue.empty() && !accepts)
    return error("{}: only linear, conv2d and map nodes have epilogues", where(i));
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

// ---- weights --------------------------------------------------------------------

void Verifier::expectParamElements(size_t s, int slot, int64_t elements, bool required) {
  int param = g_.packSteps[s].src[slot];
  if (param == -1) {
    if (required)
      error("pack step {}: source {} is required", s, slot);
    return;
  }
  if (!validParam(param))
    return error("pack step {}: parameter ${} does not exist", s, param);
  int64_t n = 1;
  for (int64_t d : g_.params[size_t(param)].shape)
    n *= d;
  if (n != elements)
    error("pack step {}: parameter '{}' has {} elements, expected {}", s,
          g_.params[size_t(param)].name, n, elements);
}

void Verifier::checkPackStep(size_t s) {
  const PackStep &step = g_.packSteps[s];
  auto expectOut = [&](int packed, int64_t size, const char *which) {
    if (!validPacked(packed))
      return error("pack step {}: {} #{} does not exist", s, which, packed);
    if (g_.packed[size_t(packed)].size != size)
      error("pack step {}: writes {} floats to #{} of {}", s, size, packed,
            g_.packed[size_t(packed)].size);
  };
  int64_t rows = step.rows, matrix = step.rows * step.cols;
  int64_t laidOut = packedMatrixSize(step.rows, step.cols, step.transpose);
  if (step.transpose < kLayoutRows || step.transpose > kLayoutPanels)
    return error("pack step {}: unknown layout {}", s, step.transpose);
  switch (step.op) {
  case PackOp::Copy:
    expectParamElements(s, 0, matrix, true);
    return expectOut(step.out, laidOut, "dst");
  case PackOp::Zero: return expectOut(step.out, matrix, "dst");
  case PackOp::FoldBatchNorm:
    expectParamElements(s, 0, matrix, true);
    expectParamElements(s, 1, rows, false);
    expectOut(step.out, laidOut, "dst");
    break;
  case PackOp::BatchNormScaleShift:
    expectOut(step.out, rows, "dst");
    break;
  }
  expectParamElements(s, 2, rows, false);
  expectParamElements(s, 3, rows, false);
  expectParamElements(s, 4, rows, true);
  expectParamElements(s, 5, rows, true);
  expectOut(step.out2, rows, "dst2");
}

void Verifier::checkPackSteps() {
  std::vector<int> writers(g_.packed.size(), 0);
  for (size_t s = 0; s < g_.packSteps.size(); ++s) {
    checkPackStep(s);
    for (int out : {g_.packSteps[s].out, g_.packSteps[s].out2})
      if (validPacked(out))
        ++writers[size_t(out)];
  }
  for (size_t p = 0; p < g_.packed.size(); ++p)
    if (writers[p] != 1)
      error("packed tensor #{} '{}' is written by {} pack steps, not 1", p, g_.packed[p].name,
            writers[p]);
}

void Verifier::checkWeightPlan() {
  bool planned = std::any_of(g_.packed.begin(), g_.packed.end(),
                             [](const Packed &p) { return p.offset >= 0; });
  if (!planned)
    return;
  std::vector<const Packed *> byOffset;
  for (const Packed &p : g_.packed) {
    if (p.offset < 0 || p.offset % kPackedAlignment || p.offset + p.size > g_.packedSize)
      error("packed tensor '{}' at {} ({} floats) is unaligned or outside the {} floats planned",
            p.name, p.offset, p.size, g_.packedSize);
    byOffset.push_back(&p);
  }
  std::sort(byOffset.begin(), byOffset.end(),
            [](const Packed *a, const Packed *b) { return a->offset < b->offset; });
  for (size_t k = 1; k < byOffset.size(); ++k)
    if (byOffset[k - 1]->offset + byOffset[k - 1]->size > byOffset[k]->offset)
      error("packed tensors '{}' and '{}' overlap", byOffset[k - 1]->name, byOffset[k]->name);
}

// ---- memory ---------------------------------------------------------------------

void Verifier::checkOutputStorage() {
  int owner = g_.storageOf(g_.output).id;
  for (const Value &v : g_.values)
    if (v.storage == Storage::Output && v.id != owner)
      error("value %{} has output storage but is not the graph output %{}", v.id, g_.output);
  if (hasWorkspace(g_) && g_.value(owner).storage != Storage::Output)
    error("the graph output %{} is not in the output buffer", g_.output);
}

void Verifier::checkCodegenContract() {
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    OpKind kind = g_.nodes[i].kind;
    if (kind == OpKind::Identity || kind == OpKind::BatchNorm || kind == OpKind::Unary ||
        kind == OpKind::Scalar)
      error("{}: left for codegen, which does not handle it", where(int(i)));
  }
}

void Verifier::checkMemoryPlan() {
  std::vector<Buffer> all = workspaceBuffers(g_);
  auto describe = [](const Buffer &b) {
    return b.value >= 0 ? fmt::format("%{}", b.value) : fmt::format("scratch {}", b.scratch);
  };
  for (const Buffer &b : all) {
    int64_t offset = bufferOffset(g_, b), size = regionSize(g_, b);
    if (offset < 0 || offset % kWorkspaceAlignment || offset + b.bytes > size)
      error("{} at byte {} ({} bytes) is unaligned or outside its {}-byte region", describe(b),
            offset, b.bytes, size);
    if (b.batched && b.value >= 0 && g_.value(b.value).offsetFixed != g_.workspaceFixed)
      error("{} does not start its region after the {}-byte fixed region", describe(b),
            g_.workspaceFixed);
  }
  // The two regions never share bytes: each is checked apart.
  for (bool batched : {false, true}) {
    std::vector<Buffer> buffers;
    for (const Buffer &b : all)
      if (b.batched == batched)
        buffers.push_back(b);
    if (!anyLiveTogetherOverlap(buffers))
      continue;
    // Some pair clashes: name every one, comparing all pairs.
    for (size_t x = 0; x < buffers.size(); ++x)
      for (size_t y = x + 1; y < buffers.size(); ++y) {
        const Buffer &a = buffers[x], &b = buffers[y];
        int64_t oa = bufferOffset(g_, a), ob = bufferOffset(g_, b);
        bool together = a.first <= b.last && b.first <= a.last;
        if (together && oa < ob + b.bytes && ob < oa + a.bytes)
          error("{} and {} are live together but overlap in the workspace", describe(a),
                describe(b));
      }
  }
}

// Whether two buffers live at the same time share bytes, in O(n log n): a
// sweep over node indices keeps the live buffers ordered by offset; as
// long as they are disjoint, a new one can only clash with its neighbours.
// Each buffer counts as at least one byte, so a clash is never missed (an
// empty buffer seen as clashing only costs the exact check above).
bool Verifier::anyLiveTogetherOverlap(const std::vector<Buffer> &buffers) const {
  std::vector<size_t> byFirst(buffers.size()), byLast(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    byFirst[i] = byLast[i] = i;
  std::sort(byFirst.begin(), byFirst.end(),
            [&](size_t a, size_t b) { return buffers[a].first < buffers[b].first; });
  std::sort(byLast.begin(), byLast.end(),
            [&](size_t a, size_t b) { return buffers[a].last < buffers[b].last; });
  std::multimap<int64_t, int64_t> live; // offset -> end
  std::vector<std::multimap<int64_t, int64_t>::iterator> where(buffers.size());
  size_t dead = 0;
  for (size_t i : byFirst) {
    const Buffer &b = buffers[i];
    // Those whose last reader ran before b is written (first <= last, so
    // each was added before).
    for (; dead < byLast.size() && buffers[byLast[dead]].last < b.first; ++dead)
      live.erase(where[byLast[dead]]);
    int64_t offset = bufferOffset(g_, b), end = offset + std::max<int64_t>(b.bytes, 1);
    auto next = live.lower_bound(offset);
    if (next != live.end() && next->first < end)
      return true;
    if (next != live.begin() && std::prev(next)->second > offset)
      return true;
    where[i] = live.emplace_hint(next, offset, end);
  }
  return false;
}

} // namespace

std::vector<std::string> verify(const Graph &g) { return Verifier(g).run(); }

} // namespace seq::ir

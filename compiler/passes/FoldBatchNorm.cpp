// FoldBatchNorm: removes every BatchNorm node.
//
// An inference BatchNorm is y = (x - mean) / sqrt(var + eps) * gamma + beta,
// a per-channel affine map. When x = W*in + b comes straight from a Conv2d
// or Linear, the map folds into the weights (Glow's algebra):
//   A[c]     = gamma[c] / sqrt(var[c] + eps)      (gamma = 1 when absent)
//   W'[c, :] = W[c, :] * A[c]
//   b'[c]    = (b[c] - mean[c]) * A[c] + beta[c]  (b, beta = 0 when absent)
// so the weight's Copy pack step becomes a FoldBatchNorm step writing W' to
// the weight and b' to the bias (created when the layer had none), and the
// BatchNorm disappears. Folding is safe only when nothing else sees the
// unnormalised x: the layer's output has no other reader and is not the
// model output, its packed weight and bias belong to it alone, and for a
// Linear the BatchNorm's channel (dim 1) is the Linear's feature dim (rank
// 2). Any other BatchNorm becomes a Map node whose epilogue is one
// ChannelAffine op, scale and shift made by a BatchNormScaleShift step:
//   scale[c] = A[c], shift[c] = beta[c] - mean[c] * A[c].
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

namespace seq::passes {

using namespace ir;

namespace {

// The single pack step writing packed tensor `packed`, or -1.
int stepWriting(const Graph &g, int packed) {
  int found = -1;
  for (size_t i = 0; i < g.packSteps.size(); ++i) {
    const PackStep &s = g.packSteps[i];
    if (s.out == packed || s.out2 == packed) {
      if (found >= 0)
        return -1;
      found = int(i);
    }
  }
  return found;
}

// How many nodes name packed tensor `packed` as weight, bias or epilogue operand.
int packedReaders(const Graph &g, int packed) {
  int count = 0;
  for (const Node &node : g.nodes) {
    count += node.attrs.weight == packed;
    count += node.attrs.bias == packed;
    for (const EpilogueOp &op : node.epilogue)
      count += (op.packed == packed) + (op.packed2 == packed);
  }
  return count;
}

bool ownsCopyStep(const Graph &g, int packed) {
  int step = stepWriting(g, packed);
  return step >= 0 && g.packSteps[size_t(step)].op == PackOp::Copy &&
         packedReaders(g, packed) == 1;
}

// The Conv2d/Linear node whose weights BatchNorm `bn` may fold into, or -1.
int foldTarget(const Graph &g, const Node &bn) {
  int x = bn.inputs.at(0);
  int producer = g.value(x).producer;
  if (producer < 0 || useCount(g, x) != 1)
    return -1;
  const Node &layer = g.nodes[size_t(producer)];
  bool linearOnChannels = layer.kind == OpKind::Linear && g.value(x).shape.rank() == 2;
  if (layer.kind != OpKind::Conv2d && !linearOnChannels)
    return -1;
  if (!layer.epilogue.empty() || !ownsCopyStep(g, layer.attrs.weight))
    return -1;
  if (layer.attrs.bias >= 0 && !ownsCopyStep(g, layer.attrs.bias))
    return -1;
  return producer;
}

void setBatchNormSources(PackStep &step, const Attrs &bn) {
  step.src[2] = bn.bnGamma;
  step.src[3] = bn.bnBeta;
  step.src[4] = bn.bnMean;
  step.src[5] = bn.bnVar;
  step.eps = bn.eps;
}

// Rewrites the layer's weight (and bias) Copy steps into one FoldBatchNorm step.
void foldInto(Graph &g, Node &layer, const Attrs &bn) {
  int64_t channels = g.packSteps[size_t(stepWriting(g, layer.attrs.weight))].rows;
  int biasParam = -1;
  if (layer.attrs.bias >= 0) {
    int biasStep = stepWriting(g, layer.attrs.bias);
    biasParam = g.packSteps[size_t(biasStep)].src[0];
    g.packSteps.erase(g.packSteps.begin() + biasStep);
  } else {
    layer.attrs.bias = g.addPacked((layer.name.empty() ? "" : layer.name + ".") + "bias", channels);
  }
  PackStep &step = g.packSteps[size_t(stepWriting(g, layer.attrs.weight))];
  step.op = PackOp::FoldBatchNorm;
  step.src[1] = biasParam;
  setBatchNormSources(step, bn);
  step.out2 = layer.attrs.bias;
  g.packed[size_t(layer.attrs.weight)].name += " (folded)";
  g.packed[size_t(layer.attrs.bias)].name += " (folded)";
}

// Turns BatchNorm `bn` into a Map applying one ChannelAffine.
void lowerToChannelAffine(Graph &g, Node &bn) {
  int64_t channels = g.value(bn.inputs.at(0)).shape.dims.at(1);
  std::string prefix = bn.name.empty() ? "batch_norm" : bn.name;
  EpilogueOp affine{EpilogueOp::Kind::ChannelAffine};
  affine.packed = g.addPacked(prefix + ".scale", channels);
  affine.packed2 = g.addPacked(prefix + ".shift", channels);

  PackStep step;
  step.op = PackOp::BatchNormScaleShift;
  setBatchNormSources(step, bn.attrs);
  step.out = affine.packed;
  step.out2 = affine.packed2;
  step.rows = channels;
  step.cols = 1;
  g.packSteps.push_back(step);

  bn.kind = OpKind::Map;
  bn.epilogue = {affine};
}

} // namespace

void foldBatchNorm(Graph &g) {
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &bn = g.nodes[i];
    if (bn.kind != OpKind::BatchNorm)
      continue;
    int layer = foldTarget(g, bn);
    if (layer < 0) {
      lowerToChannelAffine(g, bn);
      continue;
    }
    foldInto(g, g.nodes[size_t(layer)], bn.attrs);
    bypassNode(g, int(i), bn.inputs.at(0), erase);
  }
  eraseNodes(g, erase);
}

} // namespace seq::passes

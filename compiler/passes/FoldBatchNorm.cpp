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
// A UseIndex and a PackedIndex answer "who reads x" and "which step writes
// this weight" for every BatchNorm; erased nodes and pack steps go at the
// end, so the pass is linear in the graph.
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

namespace seq::passes {

using namespace ir;

namespace {

// Whether packed tensor `packed` is written by one Copy step and read by one node.
bool ownsCopyStep(const Graph &g, const PackedIndex &packs, int packed) {
  int step = packs.stepWriting(packed);
  return step >= 0 && g.packSteps[size_t(step)].op == PackOp::Copy && packs.readers(packed) == 1;
}

// The Conv2d/Linear node whose weights BatchNorm `bn` may fold into, or -1.
int foldTarget(const Graph &g, const UseIndex &uses, const PackedIndex &packs, const Node &bn) {
  int x = bn.inputs.at(0);
  int producer = g.value(x).producer;
  if (producer < 0 || uses.count(x) != 1)
    return -1;
  const Node &layer = g.nodes[size_t(producer)];
  bool linearOnChannels = layer.kind == OpKind::Linear && g.value(x).shape.rank() == 2;
  if (layer.kind != OpKind::Conv2d && !linearOnChannels)
    return -1;
  if (!layer.epilogue.empty() || !ownsCopyStep(g, packs, layer.attrs.weight))
    return -1;
  if (layer.attrs.bias >= 0 && !ownsCopyStep(g, packs, layer.attrs.bias))
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
void foldInto(Graph &g, PackedIndex &packs, Node &layer, const Attrs &bn) {
  int weightStep = packs.stepWriting(layer.attrs.weight);
  int64_t channels = g.packSteps[size_t(weightStep)].rows;
  int biasParam = -1;
  if (layer.attrs.bias >= 0) {
    int biasStep = packs.stepWriting(layer.attrs.bias);
    biasParam = g.packSteps[size_t(biasStep)].src[0];
    packs.eraseStep(g, biasStep);
  } else {
    std::string name = (layer.name.empty() ? "" : layer.name + ".") + "bias";
    layer.attrs.bias = packs.addPacked(g, std::move(name), channels, 1);
  }
  PackStep &step = g.packSteps[size_t(weightStep)];
  step.op = PackOp::FoldBatchNorm;
  step.src[1] = biasParam;
  setBatchNormSources(step, bn);
  packs.setOut2(g, weightStep, layer.attrs.bias);
  g.packed[size_t(layer.attrs.weight)].name += " (folded)";
  g.packed[size_t(layer.attrs.bias)].name += " (folded)";
}

// Turns BatchNorm `bn` into a Map applying one ChannelAffine.
void lowerToChannelAffine(Graph &g, PackedIndex &packs, Node &bn) {
  int64_t channels = g.value(bn.inputs.at(0)).shape.dims.at(1);
  std::string prefix = bn.name.empty() ? "batch_norm" : bn.name;
  EpilogueOp affine{EpilogueOp::Kind::ChannelAffine};
  affine.packed = packs.addPacked(g, prefix + ".scale", channels, 1);
  affine.packed2 = packs.addPacked(g, prefix + ".shift", channels, 1);

  PackStep step;
  step.op = PackOp::BatchNormScaleShift;
  setBatchNormSources(step, bn.attrs);
  step.out = affine.packed;
  step.out2 = affine.packed2;
  step.rows = channels;
  step.cols = 1;
  packs.addStep(g, step);

  bn.kind = OpKind::Map;
  bn.epilogue = {affine};
}

} // namespace

void foldBatchNorm(Graph &g) {
  UseIndex uses(g);
  PackedIndex packs(g);
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &bn = g.nodes[i];
    if (bn.kind != OpKind::BatchNorm)
      continue;
    int layer = foldTarget(g, uses, packs, bn);
    if (layer < 0) {
      lowerToChannelAffine(g, packs, bn);
      continue;
    }
    foldInto(g, packs, g.nodes[size_t(layer)], bn.attrs);
    uses.bypassNode(g, int(i), bn.inputs.at(0), erase);
  }
  packs.compact(g);
  eraseNodes(g, erase);
}

} // namespace seq::passes

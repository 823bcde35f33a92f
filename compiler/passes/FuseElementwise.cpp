// FuseElementwise: moves element-wise work into the epilogues of the nodes
// producing its operands, so each element is finished while it is still in
// registers. Only Linear, Conv2d, Map and Concat nodes take epilogues (a
// concat along the channels of planes, and no tensor operands: it copies
// its inputs through the epilogue, DenseNet's BatchNorm and ReLU after
// each concatenation).
//
// Algorithm:
//  1. a Linear or Conv2d with a bias starts its epilogue with Bias(bias);
//  2. every Unary and Scalar node becomes a Map whose epilogue is that op;
//  3. one sweep in execution order: a Map, or an Add/Mul of two tensors of
//     the same shape, whose operand x is produced by a Linear, Conv2d or Map
//     node P, has no other reader and is not the model output, merges into
//     P: its ops join P's epilogue and its readers read x. For Add/Mul the
//     other operand t becomes AddTensor(t)/MulTensor(t); either operand may
//     play x. Every tensor a merged op reads must be written before P runs.
//     A ChannelAffine (channel = dim 1) merges into a Linear only when the
//     Linear's output has rank 2, where dim 1 is its feature dim.
// Merged nodes keep their position, so chains collapse in one sweep:
// conv -> add(x) -> relu becomes one conv with [bias, add(x), relu]. A
// UseIndex counts and redirects readers, and merged nodes are erased
// together at the end, so the pass is linear in the graph.
// Everything else stays: broadcasting Binary nodes, Sub and Div of two
// tensors, and Maps whose operand comes from elsewhere.
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <algorithm>
#include <optional>

namespace seq::passes {

using namespace ir;

namespace {

void seedBiasEpilogues(Graph &g) {
  for (Node &node : g.nodes) {
    bool hasBias = (node.kind == OpKind::Linear || node.kind == OpKind::Conv2d) && node.attrs.bias >= 0;
    bool seeded = !node.epilogue.empty() && node.epilogue.front().kind == EpilogueOp::Kind::Bias;
    if (!hasBias || seeded)
      continue;
    EpilogueOp bias{EpilogueOp::Kind::Bias};
    bias.packed = node.attrs.bias;
    node.epilogue.insert(node.epilogue.begin(), bias);
  }
}

void turnElementwiseIntoMaps(Graph &g) {
  for (Node &node : g.nodes) {
    EpilogueOp op{EpilogueOp::Kind::Unary};
    if (node.kind == OpKind::Unary) {
      op.unary = node.attrs.unary;
      op.alpha = node.attrs.alpha;
      op.beta = node.attrs.beta;
    } else if (node.kind == OpKind::Scalar) {
      op.kind = EpilogueOp::Kind::Scalar;
      op.scalarOp = node.attrs.binary;
      op.scalar = node.attrs.scalar;
      op.reversed = node.attrs.reversed;
    } else {
      continue;
    }
    node.kind = OpKind::Map;
    node.epilogue = {op};
  }
}

bool readyBefore(const Graph &g, int value, int node) {
  return g.value(value).producer < node;
}

// Whether `ops` may join the epilogue of the node producing `x`.
bool canMergeInto(const Graph &g, const UseIndex &uses, int x, const std::vector<EpilogueOp> &ops) {
  int p = g.value(x).producer;
  if (p < 0 || !acceptsEpilogue(g.nodes[size_t(p)].kind) || uses.count(x) != 1)
    return false;
  const Node &producer = g.nodes[size_t(p)];
  for (const EpilogueOp &op : ops) {
    if (op.tensor >= 0 && !readyBefore(g, op.tensor, p))
      return false;
    bool linearFeatures = producer.kind != OpKind::Linear || g.value(x).shape.rank() == 2;
    if (op.kind == EpilogueOp::Kind::ChannelAffine && !linearFeatures)
      return false;
    // a concat of channel planes copies each through the epilogue, which
    // numbers a plane's elements by channel, not by image (no tensors)
    bool channelPlanes = producer.attrs.dim == 1 && g.value(x).shape.rank() >= 3;
    if (producer.kind == OpKind::Concat && (op.tensor >= 0 || !channelPlanes))
      return false;
  }
  return true;
}

// Appends `ops` to the epilogue producing `x` and removes `node`, whose
// readers read x from then on.
void merge(Graph &g, UseIndex &uses, int x, std::vector<EpilogueOp> ops, int node,
           std::vector<bool> &erase) {
  int producer = g.value(x).producer;
  std::vector<EpilogueOp> &epilogue = g.nodes[size_t(producer)].epilogue;
  epilogue.insert(epilogue.end(), ops.begin(), ops.end());
  for (const EpilogueOp &op : ops)
    if (op.tensor >= 0)
      uses.addRead(op.tensor, producer);
  uses.bypassNode(g, node, x, erase);
}

// For a same-shape Add/Mul: the operand to merge into and the op reading
// the other one.
std::optional<std::pair<int, EpilogueOp>> binaryMerge(const Graph &g, const UseIndex &uses,
                                                      const Node &node) {
  if (node.attrs.binary != BinaryKind::Add && node.attrs.binary != BinaryKind::Mul)
    return std::nullopt;
  int a = node.inputs.at(0), b = node.inputs.at(1);
  const Shape &shape = g.value(node.output).shape;
  if (!(g.value(a).shape == shape) || !(g.value(b).shape == shape))
    return std::nullopt;
  for (auto [x, t] : {std::pair{a, b}, std::pair{b, a}}) {
    EpilogueOp op{node.attrs.binary == BinaryKind::Add ? EpilogueOp::Kind::AddTensor
                                                       : EpilogueOp::Kind::MulTensor};
    op.tensor = t;
    if (canMergeInto(g, uses, x, {op}))
      return std::pair{x, op};
  }
  return std::nullopt;
}

} // namespace

void fuseElementwise(Graph &g) {
  seedBiasEpilogues(g);
  turnElementwiseIntoMaps(g);
  UseIndex uses(g);
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &node = g.nodes[i];
    if (node.kind == OpKind::Map && canMergeInto(g, uses, node.inputs.at(0), node.epilogue)) {
      merge(g, uses, node.inputs.at(0), node.epilogue, int(i), erase);
    } else if (node.kind == OpKind::Binary) {
      if (auto fused = binaryMerge(g, uses, node))
        merge(g, uses, fused->first, {fused->second}, int(i), erase);
    }
  }
  eraseNodes(g, erase);
}

} // namespace seq::passes

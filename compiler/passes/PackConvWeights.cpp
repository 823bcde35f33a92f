// PackConvWeights: lays out the weights of the convolutions that
// seqk_conv2d_packed computes in panels of kPackPanelWidth output
// channels (the kLayoutPanels layout Linear weights use), so that the
// kernel reads each tap of 32 output channels as two aligned vectors;
// and those of the 3x3 convolutions seqk_conv2d_winograd computes as
// Winograd's transformed kernels (kLayoutWinograd), in panels as well.
// packDepthwiseWeights, once the expansions are fused, does the same for
// the depthwise convolutions of small planes (ir::depthwiseLanes), whose
// kernel reads the taps of 16 channels as one vector: half a panel.
//
// Algorithm: a Conv2d whose shape suits the kernel (ir::packedConvFits)
// and whose weight is a [OC, C*KH*KW] matrix written by one Copy or
// FoldBatchNorm step, read by no node of another kind or shape that
// needs it as it is, gets that step's layout switched to panels, or to
// Winograd's when every reader suits it (ir::winogradFits), and the
// packed tensor resized (the last panel zero-padded). Runs before
// PlanMemory, which sizes scratch by the algorithm ir::convAlgorithm
// picks from the layout, and before PlanWeights, which places the
// tensors.
#include "ir/ConvScratch.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <vector>

namespace seq::passes {

namespace {

// Lays out in `layoutOf(p)` (instead of rows) each packed tensor p that
// nodes read only as the weight of a node where `fits(node)` holds, and
// that one Copy or FoldBatchNorm step writes as a matrix; resizes it (the
// last panel zero-padded).
template <typename Fits, typename LayoutOf>
void layOutWeights(ir::Graph &g, Fits fits, LayoutOf layoutOf) {
  PackedIndex packs(g);
  // Per packed tensor: 1 while every reader fits, -1 once another is seen.
  std::vector<int> verdict(g.packed.size(), 0);
  for (const ir::Node &node : g.nodes) {
    auto note = [&](int packed, bool fit) {
      if (packed >= 0)
        verdict[size_t(packed)] = fit && verdict[size_t(packed)] >= 0 ? 1 : -1;
    };
    note(node.attrs.weight, fits(node));
    note(node.attrs.bias, false);
    for (const ir::EpilogueOp &op : node.epilogue) {
      note(op.packed, false);
      note(op.packed2, false);
    }
  }
  for (size_t p = 0; p < g.packed.size(); ++p) {
    int step = verdict[p] == 1 ? packs.stepWriting(int(p)) : -1;
    if (step < 0)
      continue;
    ir::PackStep &s = g.packSteps[size_t(step)];
    bool matrix = s.op == ir::PackOp::Copy || s.op == ir::PackOp::FoldBatchNorm;
    if (!matrix || s.transpose != ir::kLayoutRows || s.out != int(p))
      continue;
    s.transpose = layoutOf(p);
    g.packed[p].size = ir::packedMatrixSize(s.rows, s.cols, s.transpose);
  }
}

} // namespace

void packConvWeights(ir::Graph &g) {
  // whether every reader of a packed tensor suits Winograd
  std::vector<bool> winograd(g.packed.size(), true);
  for (const ir::Node &node : g.nodes)
    if (node.attrs.weight >= 0 && !(node.kind == ir::OpKind::Conv2d && ir::winogradFits(g, node)))
      winograd[size_t(node.attrs.weight)] = false;
  layOutWeights(
      g, [&](const ir::Node &node) { return node.kind == ir::OpKind::Conv2d && ir::packedConvFits(g, node); },
      [&](size_t p) { return winograd[p] ? ir::kLayoutWinograd : ir::kLayoutPanels; });
  // the algorithms settled, the strides that Winograd layers sharing a
  // kernel specialisation agree on
  ir::shareWinogradStrides(g);
}

void packDepthwiseWeights(ir::Graph &g) {
  layOutWeights(
      g,
      [&](const ir::Node &node) {
        return node.kind == ir::OpKind::Conv2d && node.fusedInto < 0 && ir::isDepthwise(g, node) &&
               ir::depthwiseLanes(g, node);
      },
      [](size_t) { return ir::kLayoutPanels; });
}

} // namespace seq::passes

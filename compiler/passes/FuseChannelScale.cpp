// FuseChannelScale: computes a per-channel scale of a tensor (a
// squeeze-and-excitation block's x * s, s [N, C, 1, 1]) inside the 1x1
// convolution that reads the product, by scaling the convolution's weights
// instead: W (x * s) = (W diag(s)) x. Per image, the weights' [OC, C]
// multiplies replace the product's [C, H, W], which EfficientNet-B0 wrote
// and read back at every block (its five largest took 0.33 ms of 9.8 at
// batch 1).
//
// Algorithm: a Binary Mul M right before a Conv2d P gets M.fusedInto = P
// when
//  - one operand x is [B, C, H, W] and the other s [B, C, 1, 1], the same B,
//    s the output of a sigmoid or hardsigmoid (an epilogue's last step):
//    in [0, 1] (or NaN), so w s cannot overflow where x s would not;
//  - M has no epilogue, and P reads M's output and nothing else does (no
//    node, no epilogue; it is not the model's output);
//  - P runs on packed weights as a pointwise convolution (1x1, stride 1, no
//    padding, one group; ir::convAlgorithm Packed), in tasks of its own
//    (not an expansion fused into the depthwise convolution after it);
//  - the plane has at least kChannelScaleMinRatio positions per output
//    channel, so that scaling the weights costs a fraction of the product.
// Codegen then emits nothing for M, and P scales its weights into its
// scratch buffer (ir::convScratchBytes) before each image; Liveness keeps
// x and s alive until P. The sums change by rounding only: each term is
// (w s) x rather than w (x s). Runs after PackConvWeights (which settles
// the algorithms) and before PlanMemory (which sizes P's scratch).
#include "ir/ConvScratch.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <vector>

namespace seq::passes {

namespace {

// Whether value v is a sigmoid's or hardsigmoid's output (its producer's
// epilogue ends with one).
bool gated(const ir::Graph &g, int v) {
  int producer = g.value(v).producer;
  if (producer < 0)
    return false;
  const std::vector<ir::EpilogueOp> &ops = g.nodes[size_t(producer)].epilogue;
  return !ops.empty() && ops.back().kind == ir::EpilogueOp::Kind::Unary &&
         (ops.back().unary == ir::UnaryKind::Sigmoid || ops.back().unary == ir::UnaryKind::Hardsigmoid);
}

} // namespace

void fuseChannelScale(ir::Graph &g) {
  fuseSoleReaderPairs(g, [&](const ir::Node &mul, const ir::Node &conv) {
    if (mul.kind != ir::OpKind::Binary || mul.attrs.binary != ir::BinaryKind::Mul || !mul.epilogue.empty() ||
        mul.inputs.size() != 2 || conv.kind != ir::OpKind::Conv2d || !ir::isPointwise(conv.attrs) ||
        ir::convAlgorithm(g, conv) != ir::ConvAlgorithm::Packed)
      return false;
    int scale = ir::channelScaleOperands(g, mul).scale;
    const ir::Shape &out = g.value(conv.output).shape;
    return scale >= 0 && gated(g, scale) && out.dims[2] * out.dims[3] >= ir::kChannelScaleMinRatio * out.dims[1];
  });
}

} // namespace seq::passes

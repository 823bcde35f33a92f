// FuseExpandDepthwise: computes a 1x1 expansion convolution inside the
// depthwise convolution that reads it (MobileNetV2's and EfficientNet's
// inverted residual blocks), band by band, so that the expanded tensor,
// their largest, stays in L2 (ir::ExpandDepthwisePlan).
//
// Algorithm: a Conv2d E right before a depthwise Conv2d D (ir::convAlgorithm
// Depthwise) gets E.fusedInto = D when
//  - E runs on packed weights as a pointwise convolution (1x1, stride 1,
//    no padding, one group), or as any convolution that
//    seqk_conv_depthwise_lanes computes (lanesProducer: a stem's 3x3 of
//    stride 2, its epilogue in register form); E's padded input copy
//    (its scratch) then lives until D (Liveness);
//  - D reads E's output and nothing else does (no node, no epilogue; it is
//    not the model's output);
//  - D's plane is at least ir::kExpandMinPlane and computed row by row,
//    its dilation is 1 and each side's padding at most half its kernel,
//    so that every band of output rows reads some rows of the image.
// Codegen then emits nothing for E and both in D's tasks; Liveness keeps
// E's input alive until D. Runs after PackConvWeights (which settles the
// algorithms) and before PlanMemory (which sizes D's scratch).
#include "ir/ConvScratch.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <vector>

namespace seq::passes {

namespace {

bool bandable(const ir::Graph &g, const ir::Node &dw) {
  const ir::Attrs &a = dw.attrs;
  const ir::Shape &in = g.value(dw.inputs[0]).shape, &out = g.value(dw.output).shape;
  bool halfPads = 2 * a.pad[0] <= a.kernel[0] - 1 && 2 * a.pad[2] <= a.kernel[0] - 1 &&
                  2 * a.pad[1] <= a.kernel[1] - 1 && 2 * a.pad[3] <= a.kernel[1] - 1;
  return a.dilation[0] == 1 && a.dilation[1] == 1 && halfPads &&
         in.dims[2] * in.dims[3] >= ir::kExpandMinPlane && !ir::depthwiseLinear(a, out.dims[2], out.dims[3]);
}

// Whether a convolution's epilogue is empty or [Bias] [ReLU | ReLU6 |
// Hardtanh | SiLU | Hardswish]: the register form (codegen::registerForm)
// that seqk_conv_depthwise_lanes applies to its tiles.
bool registerEpilogue(const ir::Node &conv) {
  const std::vector<ir::EpilogueOp> &ops = conv.epilogue;
  size_t i = 0;
  bool seeded = !ops.empty() && ops.front().kind == ir::EpilogueOp::Kind::Bias;
  if (conv.attrs.bias >= 0 && !seeded)
    return false; // codegen adds it first: a form this check does not see
  if (i < ops.size() && ops[i].kind == ir::EpilogueOp::Kind::Bias)
    ++i;
  if (i < ops.size() && ops[i].kind == ir::EpilogueOp::Kind::Unary) {
    switch (ops[i].unary) {
    case ir::UnaryKind::Relu:
    case ir::UnaryKind::Relu6:
    case ir::UnaryKind::Hardtanh:
    case ir::UnaryKind::Silu:
    case ir::UnaryKind::Hardswish: ++i; break;
    default: break;
    }
  }
  return i == ops.size();
}

// A convolution other than a 1x1 expansion that may produce the
// depthwise convolution's input in its tasks: only with 16 channels in the
// lanes (seqk_conv_depthwise_lanes), so its epilogue in register form, one
// group, column stride 1 or 2, at most 64 taps (a network's stem: 3x3 of
// stride 2, 3 channels in).
bool lanesProducer(const ir::Graph &g, const ir::Node &conv, const ir::Node &dw) {
  const ir::Attrs &a = conv.attrs;
  return ir::expandDepthwiseLanesFits(g, dw) && registerEpilogue(conv) && a.groups == 1 &&
         (a.stride[1] == 1 || a.stride[1] == 2) && a.kernel[0] * a.kernel[1] <= ir::kLanesProducerMaxTaps;
}

} // namespace

void fuseExpandDepthwise(ir::Graph &g) {
  fuseSoleReaderPairs(g, [&](const ir::Node &expand, const ir::Node &dw) {
    return dw.kind == ir::OpKind::Conv2d && expand.kind == ir::OpKind::Conv2d &&
           ir::convAlgorithm(g, dw) == ir::ConvAlgorithm::Depthwise &&
           ir::convAlgorithm(g, expand) == ir::ConvAlgorithm::Packed &&
           (ir::isPointwise(expand.attrs) || lanesProducer(g, expand, dw)) && bandable(g, dw);
  });
}

} // namespace seq::passes

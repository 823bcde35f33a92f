// FuseExpandDepthwise: computes a 1x1 expansion convolution inside the
// depthwise convolution that reads it (MobileNetV2's and EfficientNet's
// inverted residual blocks), band by band, so that the expanded tensor,
// their largest, stays in L2 (ir::ExpandDepthwisePlan).
//
// Algorithm: a Conv2d E right before a depthwise Conv2d D (ir::convAlgorithm
// Depthwise) gets E.fusedInto = D when
//  - E runs on packed weights as a pointwise convolution (1x1, stride 1,
//    no padding, one group);
//  - D reads E's output and nothing else does (no node, no epilogue; it is
//    not the model's output);
//  - D's plane is at least ir::kExpandMinPlane and computed row by row,
//    its dilation is 1 and each side's padding at most half its kernel,
//    so that every band of output rows reads some rows of the image.
// Codegen then emits nothing for E and both in D's tasks; Liveness keeps
// E's input alive until D. Runs after PackConvWeights (which settles the
// algorithms) and before PlanMemory (which sizes D's scratch).
#include "ir/ConvScratch.h"
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

} // namespace

void fuseExpandDepthwise(ir::Graph &g) {
  // Readers of each value: node inputs and epilogue operands.
  std::vector<int> readers(g.values.size(), 0);
  for (const ir::Node &node : g.nodes) {
    for (int in : node.inputs)
      ++readers[size_t(in)];
    for (const ir::EpilogueOp &op : node.epilogue)
      if (op.tensor >= 0)
        ++readers[size_t(op.tensor)];
  }
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    ir::Node &expand = g.nodes[i - 1];
    const ir::Node &dw = g.nodes[i];
    if (dw.kind != ir::OpKind::Conv2d || expand.kind != ir::OpKind::Conv2d || dw.inputs.size() != 1 ||
        dw.inputs[0] != expand.output || expand.fusedInto >= 0)
      continue;
    const ir::Value &v = g.value(expand.output);
    if (readers[size_t(v.id)] != 1 || v.id == g.output || v.storage != ir::Storage::Workspace)
      continue;
    if (ir::convAlgorithm(g, dw) != ir::ConvAlgorithm::Depthwise ||
        ir::convAlgorithm(g, expand) != ir::ConvAlgorithm::Packed || !ir::isPointwise(expand.attrs) ||
        !bandable(g, dw))
      continue;
    expand.fusedInto = int(i);
  }
}

} // namespace seq::passes

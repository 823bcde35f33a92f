// FuseConvMaxPool: computes a convolution inside the max pool that reads
// it, band by band of the pool's output rows (ir::ConvPoolPlan), so that
// the convolution's output, a stem's 3.2 MB, never goes to memory.
//
// Algorithm: a Conv2d C right before a MaxPool2d P gets C.fusedInto = P
// when
//  - C runs on packed weights (ir::convAlgorithm Packed), one group, not a
//    1x1 (the pointwise kernels', which a channel scale may also be fused
//    into later), its epilogue bias and activations only (no tensor
//    added: its rows would be the band's), rows of at least
//    kConvPoolMinWidth;
//  - P reads C's output and nothing else does (no node, no epilogue; it is
//    not the model's output), P takes no epilogue itself;
//  - C's output takes at least ir::kConvPoolMinBytes an image.
// Codegen then emits nothing for C and both in P's tasks; Liveness keeps
// C's input and its padded copy alive until P, and C's output takes no
// workspace. Runs after PackConvWeights (which settles the algorithms)
// and before PlanMemory (which sizes P's band buffers).
#include "ir/ConvPool.h"
#include "ir/ConvScratch.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <algorithm>

namespace seq::passes {

namespace {

// Rows shorter than a vector take other epilogue forms (codegen's
// shortRows): they stay apart.
constexpr int64_t kConvPoolMinWidth = 16;

bool fusible(const ir::Graph &g, const ir::Node &conv) {
  const ir::Attrs &a = conv.attrs;
  const ir::Shape &out = g.value(conv.output).shape;
  if (out.rank() != 4 || a.groups != 1 || ir::isPointwise(a) || ir::isStridedPointwise(a) ||
      ir::convAlgorithm(g, conv) != ir::ConvAlgorithm::Packed)
    return false;
  bool tensors = std::any_of(conv.epilogue.begin(), conv.epilogue.end(),
                             [](const ir::EpilogueOp &op) { return op.tensor >= 0; });
  int64_t bytes = out.dims[1] * out.dims[2] * out.dims[3] * int64_t(sizeof(float));
  return !tensors && out.dims[3] >= kConvPoolMinWidth && bytes >= ir::kConvPoolMinBytes;
}

} // namespace

void fuseConvMaxPool(ir::Graph &g) {
  fuseSoleReaderPairs(g, [&](const ir::Node &conv, const ir::Node &pool) {
    return conv.kind == ir::OpKind::Conv2d && pool.kind == ir::OpKind::MaxPool2d && pool.epilogue.empty() &&
           fusible(g, conv);
  });
}

} // namespace seq::passes

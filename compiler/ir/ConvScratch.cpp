// ConvScratch: the convolution algorithm decision (see the header).
#include "ir/ConvScratch.h"

namespace seq::ir {

namespace {

int64_t im2colBytes(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t patch = in.dims.at(1) / a.groups * a.kernel[0] * a.kernel[1];
  return a.groups * patch * out.dims.at(2) * out.dims.at(3) * int64_t(sizeof(float));
}

} // namespace

ConvAlgorithm convAlgorithm(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t channels = in.dims.at(1), outChannels = out.dims.at(1);
  bool unitStride = a.stride[0] == 1 && a.stride[1] == 1;
  bool noPad = a.pad[0] == 0 && a.pad[1] == 0 && a.pad[2] == 0 && a.pad[3] == 0;
  if (a.groups == channels && a.groups == outChannels)
    return unitStride ? ConvAlgorithm::DepthwiseDirect : ConvAlgorithm::Depthwise;
  if (a.kernel[0] == 1 && a.kernel[1] == 1 && unitStride && noPad && a.groups == 1)
    return ConvAlgorithm::Pointwise;
  if (unitStride)
    return ConvAlgorithm::Direct;
  bool gathered = out.dims.at(3) >= kConvImplicitMinWidth || im2colBytes(g, conv) > kConvIm2colCacheBytes;
  return gathered ? ConvAlgorithm::Gathered : ConvAlgorithm::Im2col;
}

int64_t convScratchBytes(const Graph &g, const Node &conv) {
  switch (convAlgorithm(g, conv)) {
  case ConvAlgorithm::Direct:
  case ConvAlgorithm::DepthwiseDirect: {
    const Attrs &a = conv.attrs;
    const Shape &in = g.value(conv.inputs.at(0)).shape;
    int64_t Hp = in.dims.at(2) + a.pad[0] + a.pad[2], Wp = in.dims.at(3) + a.pad[1] + a.pad[3];
    return (in.dims.at(1) * Hp * Wp + kConvPadSlackFloats) * int64_t(sizeof(float));
  }
  case ConvAlgorithm::Im2col: return im2colBytes(g, conv);
  default: return 0;
  }
}

int64_t convScratchSlotBytes(const Graph &g, const Node &conv) {
  return (convScratchBytes(g, conv) + 63) / 64 * 64;
}

} // namespace seq::ir

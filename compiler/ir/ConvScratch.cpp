// ConvScratch: the im2col decision (see the header).
#include "ir/ConvScratch.h"

namespace seq::ir {

int64_t im2colScratchBytes(const Graph &g, const Node &conv) {
  return kIm2colSlots * im2colImageBytes(g, conv);
}

int64_t im2colImageBytes(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t channels = in.dims.at(1), outChannels = out.dims.at(1);
  bool pointwise = a.kernel[0] == 1 && a.kernel[1] == 1 && a.stride[0] == 1 && a.stride[1] == 1 &&
                   a.pad[0] == 0 && a.pad[1] == 0 && a.pad[2] == 0 && a.pad[3] == 0 && a.groups == 1;
  bool depthwise = a.groups == channels && a.groups == outChannels;
  if (pointwise || depthwise)
    return 0;
  int64_t patch = channels / a.groups * a.kernel[0] * a.kernel[1];
  int64_t bytes = a.groups * patch * out.dims.at(2) * out.dims.at(3) * int64_t(sizeof(float));
  bool implicit = out.dims.at(3) >= kConvImplicitMinWidth || bytes > kConvIm2colCacheBytes;
  return implicit ? 0 : bytes;
}

} // namespace seq::ir

// ConvPool: the bands of a convolution fused into its max pool.
#include "ir/ConvPool.h"
#include "ir/ConvScratch.h"

#include <algorithm>

namespace seq::ir {

ConvPoolPlan::Band ConvPoolPlan::band(int64_t k) const {
  Band b;
  b.r0 = k * bandRows;
  b.r1 = std::min(poolRows, b.r0 + bandRows);
  const int64_t top = b.r0 * stride - pad;
  b.lo = std::max<int64_t>(0, top);
  b.hi = std::min(rows, (b.r1 - 1) * stride - pad + reach);
  b.pad = b.lo - top;
  return b;
}

ConvPoolPlan convPoolPlan(const Graph &g, const Node &pool) {
  const Attrs &a = pool.attrs;
  const Shape &in = g.value(pool.inputs.at(0)).shape, &out = g.value(pool.output).shape;
  ConvPoolPlan p;
  p.poolRows = out.dims.at(2);
  p.rows = in.dims.at(2);
  p.stride = a.stride[0];
  p.pad = a.pad[0];
  p.reach = (a.kernel[0] - 1) * a.dilation[0] + 1;
  const int64_t rowBytes = in.dims.at(1) * in.dims.at(3) * int64_t(sizeof(float));
  auto convRows = [&](int64_t bandRows) { return std::min(p.rows, (bandRows - 1) * p.stride + p.reach); };
  int64_t most = 1;
  while (most < p.poolRows && convRows(most + 1) * rowBytes <= kConvPoolBandBytes)
    ++most;
  // as many bands as that takes, their rows evened out
  p.bands = (p.poolRows + most - 1) / most;
  p.bandRows = (p.poolRows + p.bands - 1) / p.bands;
  p.bands = (p.poolRows + p.bandRows - 1) / p.bandRows;
  p.convRows = convRows(p.bandRows);
  p.bandFloats = in.dims.at(1) * p.convRows * in.dims.at(3);
  return p;
}

const Node *fusedPoolConvolution(const Graph &g, const Node &pool) {
  return pool.kind == OpKind::MaxPool2d ? fusedConvolutionInput(g, pool) : nullptr;
}

} // namespace seq::ir

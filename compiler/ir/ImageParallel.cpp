// ImageParallel: the image-by-image decision (see the header).
#include "ir/ImageParallel.h"

#include <algorithm>

namespace seq::ir {

namespace {

bool batchFirstOnly(const Shape &s) {
  return s.batched() && std::count(s.dims.begin(), s.dims.end(), kBatch) == 1;
}

// Whether `node` keeps the images apart, its values batched in dim 0.
bool perImage(const Graph &g, const Node &node) {
  const Attrs &a = node.attrs;
  switch (node.kind) {
  case OpKind::Softmax:
  case OpKind::Concat:
  case OpKind::Slice:
  case OpKind::Reduce:
    return a.dim >= 1;
  case OpKind::Permute:
    return !a.perm.empty() && a.perm[0] == 0;
  case OpKind::Binary: // broadcasting aligns trailing dims: a lower-rank operand would meet the batch
    for (int in : node.inputs)
      if (g.value(in).shape.rank() != g.value(node.output).shape.rank())
        return false;
    return true;
  case OpKind::LayerNorm:
    return a.normSize >= 1 && a.normSize <= g.value(node.inputs.at(0)).shape.elementsPerBatch();
  case OpKind::Input:
    return false;
  case OpKind::Linear:
  case OpKind::Conv2d:
  case OpKind::Pad:
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::AdaptiveAvgPool2d:
  case OpKind::AdaptiveMaxPool2d:
  case OpKind::BatchNorm:
  case OpKind::Unary:
  case OpKind::Scalar:
  case OpKind::Reshape:
  case OpKind::Identity:
  case OpKind::Map:
  case OpKind::Copy:
  case OpKind::GroupNorm:
  case OpKind::PRelu:
  case OpKind::ConvTranspose2d:
  case OpKind::Upsample:
    return true;
  }
  return false;
}

} // namespace

bool imagesIndependent(const Graph &g) {
  if (g.fixedBatch != 0 || g.nodes.empty())
    return false;
  for (const Value &v : g.values)
    if (!batchFirstOnly(v.shape))
      return false;
  for (const Node &node : g.nodes)
    if (!perImage(g, node))
      return false;
  return true;
}

int64_t linearWeightBytes(const Graph &g, size_t first) {
  int64_t bytes = 0;
  for (size_t i = first; i < g.nodes.size(); ++i) {
    const Node &node = g.nodes[i];
    if (node.kind == OpKind::Linear)
      bytes += g.value(node.inputs.at(0)).shape.dims.back() * g.value(node.output).shape.dims.back() *
               int64_t(sizeof(float));
  }
  return bytes;
}

int64_t nodeMacsPerImage(const Graph &g, const Node &node) {
  if (node.kind != OpKind::Conv2d && node.kind != OpKind::ConvTranspose2d && node.kind != OpKind::Linear)
    return 0;
  const Shape &in = g.value(node.inputs.at(0)).shape, &out = g.value(node.output).shape;
  const int64_t taps = node.attrs.kernel[0] * node.attrs.kernel[1];
  switch (node.kind) {
  case OpKind::Conv2d: return out.elementsPerBatch() * (in.dims.at(1) / node.attrs.groups) * taps;
  case OpKind::ConvTranspose2d: return in.elementsPerBatch() * (out.dims.at(1) / node.attrs.groups) * taps;
  default: return out.elementsPerBatch() * in.dims.back(); // Linear
  }
}

ImageMacs macsPerImage(const Graph &g) {
  ImageMacs macs;
  for (const Node &node : g.nodes)
    (node.kind == OpKind::Linear ? macs.linear : macs.conv) += nodeMacsPerImage(g, node);
  return macs;
}

namespace {

int64_t packedWeightBytes(const Graph &g) {
  int64_t bytes = 0;
  for (const Packed &p : g.packed)
    bytes += p.size * int64_t(sizeof(float));
  return bytes;
}

} // namespace

bool imageWeightsFitL2(const Graph &g) { return packedWeightBytes(g) <= kImageParallelMaxL2Weights; }

int64_t imageGroupBytes(const Graph &g, int64_t l2Bytes) {
  return imageWeightsFitL2(g) ? l2Bytes : kImageGroupBytes;
}

bool oneImageAlways(const Graph &g) {
  // a concat's inputs written in place (Storage::Slice): an image's part of
  // each is contiguous in the concat's output, a group's is not
  return std::any_of(g.values.begin(), g.values.end(), [](const Value &v) { return v.storage == Storage::Slice; });
}

int64_t maxImageGroup(const Graph &g, int64_t l2Bytes) {
  if (oneImageAlways(g))
    return 1;
  int64_t perImage = std::max<int64_t>(1, g.workspacePerBatch);
  if (perImage >= l2Bytes)
    return 1;
  return std::max<int64_t>(1, imageGroupBytes(g, l2Bytes) / perImage);
}

bool runsImageByImage(const Graph &g) {
  if (!imagesIndependent(g))
    return false;
  int64_t weightBytes = packedWeightBytes(g);
  ImageMacs macs = macsPerImage(g);
  if (macs.conv < macs.linear)
    return false; // rows of Linear layers: one GEMM over the batch reuses each weight
  if (linearWeightBytes(g) > kImageParallelMaxLinearBytes)
    return false; // a classifier streamed from memory for every image
  return weightBytes <= kImageParallelMaxL2Weights ||
         2 * (macs.conv + macs.linear) >= kImageParallelMinFlopsPerByte * weightBytes;
}

} // namespace seq::ir

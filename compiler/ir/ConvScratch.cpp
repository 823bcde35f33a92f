// ConvScratch: the convolution algorithm decision (see the header).
#include "ir/ConvScratch.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>
#include <vector>

namespace seq::ir {

namespace {

int64_t im2colBytes(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t patch = in.dims.at(1) / a.groups * a.kernel[0] * a.kernel[1];
  return a.groups * patch * out.dims.at(2) * out.dims.at(3) * int64_t(sizeof(float));
}

bool padsAny(const Attrs &a) { return a.pad[0] != 0 || a.pad[1] != 0 || a.pad[2] != 0 || a.pad[3] != 0; }


// seqk_conv2d_packed_supports: R*TW <= 14, R <= 3, and R == 1 or TW >= 2.
bool packedTileExists(int64_t R, int64_t TW) {
  return R >= 1 && R <= 3 && TW >= 1 && R * TW <= 14 && (R == 1 || TW >= 2);
}

} // namespace

bool convPads(const Node &conv) { return padsAny(conv.attrs); }

bool isPointwise(const Attrs &a) {
  return a.kernel[0] == 1 && a.kernel[1] == 1 && a.stride[0] == 1 && a.stride[1] == 1 && a.groups == 1 &&
         !padsAny(a);
}

bool isStridedPointwise(const Attrs &a) {
  return a.kernel[0] == 1 && a.kernel[1] == 1 && (a.stride[0] != 1 || a.stride[1] != 1) && a.groups == 1 &&
         !padsAny(a);
}

bool isDepthwise(const Graph &g, const Node &conv) {
  const int64_t groups = conv.attrs.groups;
  return groups == g.value(conv.inputs.at(0)).shape.dims.at(1) && groups == g.value(conv.output).shape.dims.at(1);
}

bool packedConvFits(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &out = g.value(conv.output).shape;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  if (isDepthwise(g, conv) || (a.stride[1] != 1 && a.stride[1] != 2)) // (a 1 -> 1 one too)
    return false;
  if (a.groups > 1)
    return groupedPackedFits(g, conv);
  const bool fewTaps = !isPointwise(a) && in.dims.at(1) * a.kernel[0] * a.kernel[1] <= kLanesConvMaxTaps &&
                       out.dims.at(3) >= kLanesConvMinWidth;
  return out.dims.at(1) >= kPackedMinChannels || fewTaps;
}

bool groupedPackedFits(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  if (a.groups <= 1 || isDepthwise(g, conv) || a.kernel[0] * a.kernel[1] == 1)
    return false;
  const int64_t OCg = g.value(conv.output).shape.dims.at(1) / a.groups;
  return OCg == kPackPanelWidth / 2 || OCg % kPackPanelWidth == 0 || groupLanesFit(g, conv);
}

bool columnPhasedLanes(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  const int64_t Wp = in.dims.at(3) + a.pad[1] + a.pad[3];
  // (not a stem fused into a depthwise convolution: seqk_conv_depthwise_lanes
  // reads its input's rows as they are; one fused into its max pool runs
  // the packed kernels on the copy)
  bool intoPool = conv.fusedInto >= 0 && g.nodes[size_t(conv.fusedInto)].kind == OpKind::MaxPool2d;
  return (conv.fusedInto < 0 || intoPool) && a.groups == 1 && !isPointwise(a) && a.stride[1] == 2 && convPads(conv) &&
         convAlgorithm(g, conv) == ConvAlgorithm::Packed && !fusedChannelScale(g, conv) &&
         out.dims.at(3) >= kLanesConvMinWidth && Wp <= kLanesPhasedMaxRow &&
         in.dims.at(1) * a.kernel[0] * a.kernel[1] <= kLanesPhasedMaxTaps;
}

bool groupLanesFit(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &out = g.value(conv.output).shape;
  const int64_t OCg = out.dims.at(1) / a.groups;
  // rows of 16 or more, or shorter ones on a grid of the padded width of
  // 16 positions or more (seqk_conv2d_packed_lanes' flat tiles)
  const int64_t OH = out.dims.at(2), OW = out.dims.at(3);
  const int64_t Wp = g.value(conv.inputs.at(0)).shape.dims.at(3) + a.pad[1] + a.pad[3];
  return a.groups > 1 && !isDepthwise(g, conv) && OCg <= kGroupLanesMaxChannels && kPackPanelWidth % OCg == 0 &&
         (OW >= kLanesConvMinWidth || (OH - 1) * Wp + OW >= kLanesConvMinWidth) && a.stride[0] == 1 &&
         a.stride[1] == 1;
}

namespace {

int weightLayout(const Graph &g, const Node &conv) {
  for (const PackStep &step : g.packSteps)
    if (step.out == conv.attrs.weight)
      return step.transpose;
  return -1;
}

} // namespace

bool weightInPanels(const Graph &g, const Node &conv) { return weightLayout(g, conv) == kLayoutPanels; }

bool winogradFits(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  const int64_t C = in.dims.at(1), OC = out.dims.at(1), plane = std::min(out.dims.at(2), out.dims.at(3));
  const bool odd = out.dims.at(2) % 2 != 0 || out.dims.at(3) % 2 != 0;
  const bool wide = C >= kWinogradSmallPlaneChannels && OC >= kWinogradSmallPlaneChannels;
  const bool planeFits = (plane >= kWinogradMinPlane && (!odd || plane >= kWinogradOddPlane || wide)) ||
                         (plane == kWinogradSmallPlane && wide);
  return a.kernel[0] == 3 && a.kernel[1] == 3 && a.stride[0] == 1 && a.stride[1] == 1 && a.dilation[0] == 1 &&
         a.dilation[1] == 1 && a.groups == 1 && C >= kWinogradMinChannels && OC >= kWinogradMinChannels && planeFits;
}

namespace {

// winogradPlan without the stride it may share with other layers.
WinogradPlan ownWinogradPlan(const Graph &g, const Node &conv) {
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t C = in.dims.at(1);
  WinogradPlan p;
  p.tileRows = (out.dims.at(2) + 1) / 2;
  p.tileCols = (out.dims.at(3) + 1) / 2;
  int64_t tileBytes = 16 * C * int64_t(sizeof(float));
  int64_t most = std::clamp<int64_t>(kWinogradBlockBytes / (tileBytes * p.tileCols), 1, p.tileRows);
  p.panels = (out.dims.at(1) + kPackPanelWidth - 1) / kPackPanelWidth;
  int64_t wanted = std::min(p.tileRows, (kWinogradTasks + p.panels - 1) / p.panels);
  p.blocks = std::max((p.tileRows + most - 1) / most, wanted);
  // (An odd number of tile rows in an even number of blocks still leaves
  // one of 2 threads a row more: ResNet-18's 14x14 layers, 4 against 3.
  // One block more, its last split by panels (splitLast), made them 3%
  // faster on 2 threads but 11% slower on one: their 4 MB of transformed
  // weights read once more.)
  p.blockRows = (p.tileRows + p.blocks - 1) / p.blocks;
  p.panelGroups = std::clamp<int64_t>((kWinogradTasks + p.blocks - 1) / p.blocks, 1, p.panels);
  p.splitLast = p.panelGroups == 1 && p.blocks % 2 == 1 && p.blocks > 1 && p.panels >= 2;
  int64_t fewest = p.tileRows / p.blocks * p.tileCols;
  p.pointTile = packedConvTile(1, fewest).cols;
  p.vStride = C * p.blockRows * p.tileCols + 16;
  const int64_t tiles = p.tileRows * p.tileCols;
  const int64_t weightBytes = 16 * C * p.panels * kPackPanelWidth * int64_t(sizeof(float));
  const int64_t OC = out.dims.at(1);
  if (p.blocks == 1 && tiles <= kWinogradGroupTiles && weightBytes <= kWinogradGroupWeightBytes &&
      std::min(C, OC) >= kWinogradGroupMinChannels) {
    // an image's transformed tiles and a panel's products
    const int64_t imageBytes = 16 * (C + kPackPanelWidth) * tiles * int64_t(sizeof(float));
    p.imageGroup = std::clamp<int64_t>(kWinogradGroupBytes / imageBytes, 1, kWinogradGroupImages);
    // seqk_conv2d_winograd_stride: a row of V a channel, 16 floats more
    if (p.imageGroup > 1)
      p.vStride = std::max(p.vStride, C * (p.imageGroup * tiles + 16) + 16);
  }
  return p;
}

// What two Winograd convolutions must agree on to share a specialisation
// of seqk_conv2d_winograd (they differ at most in C, OC and blockRows):
// input and output planes, padding, point tile.
std::array<int64_t, 7> winogradShareKey(const Graph &g, const Node &conv, const WinogradPlan &p) {
  const Shape &in = g.value(conv.inputs.at(0)).shape, &out = g.value(conv.output).shape;
  return {in.dims.at(2), in.dims.at(3), out.dims.at(2), out.dims.at(3), conv.attrs.pad[0], conv.attrs.pad[1],
          p.pointTile};
}

} // namespace

void shareWinogradStrides(Graph &g) {
  std::map<std::array<int64_t, 7>, int64_t> widest;
  std::vector<std::pair<Node *, std::array<int64_t, 7>>> shared;
  for (Node &conv : g.nodes) {
    if (conv.kind != OpKind::Conv2d || convAlgorithm(g, conv) != ConvAlgorithm::Winograd)
      continue;
    WinogradPlan p = ownWinogradPlan(g, conv);
    shared.push_back({&conv, winogradShareKey(g, conv, p)});
    int64_t &w = widest[shared.back().second];
    w = std::max(w, p.vStride);
  }
  for (auto &[conv, key] : shared)
    conv->attrs.winogradStride = widest[key];
}

WinogradPlan winogradPlan(const Graph &g, const Node &conv) {
  WinogradPlan p = ownWinogradPlan(g, conv);
  // the largest stride of the layers that may share its specialisation
  p.vStride = std::max(p.vStride, conv.attrs.winogradStride);
  // seqk_conv2d_winograd_work: the padded rows (and their slack), the
  // transformed tiles, the products, the row-packed strips of input (4)
  // and output (2) rows
  int64_t C = g.value(conv.inputs.at(0)).shape.dims.at(1);
  int64_t Wp = 2 * p.tileCols + 2, tiles = p.blockRows * p.tileCols;
  int64_t floats = C * (2 * p.blockRows + 2) * Wp + kConvPadSlackFloats + 16 * p.vStride +
                   16 * kPackPanelWidth * tiles * p.imageGroup + 16 + 4 * (2 * p.tileCols * (p.blockRows + 1) + 32) +
                   2 * (2 * tiles + 32);
  p.workFloats = (floats + 15) / 16 * 16;
  return p;
}

PackedTile packedConvTile(int64_t OH, int64_t OW) {
  PackedTile best;
  int64_t bestCost = -1;
  for (int64_t R = 1; R <= 3; ++R)
    for (int64_t TW = 1; TW <= 14; ++TW) {
      if (!packedTileExists(R, TW) || R > OH || TW > OW)
        continue;
      int64_t tiles = (OH + R - 1) / R * ((OW + TW - 1) / TW);
      // cycles per tap: the multiply-adds, 2 weight loads; a tile of
      // several rows stores element by element (3 more, as measured)
      int64_t cost = tiles * (std::max<int64_t>(R * TW + 2, 8) + (R > 1 ? 3 : 0));
      bool better = bestCost < 0 || cost < bestCost ||
                    (cost == bestCost && R * TW > best.rows * best.cols);
      if (better) {
        best = {R, TW};
        bestCost = cost;
      }
    }
  return best;
}

int64_t pointwiseLastTile(int64_t run, int64_t TW) {
  int64_t rest = TW > 0 ? run % TW : 0;
  return rest >= kPointwiseLastTileMin ? rest : TW;
}

ConvAlgorithm convAlgorithm(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &out = g.value(conv.output).shape;
  bool unitStride = a.stride[0] == 1 && a.stride[1] == 1;
  if (isDepthwise(g, conv))
    return ConvAlgorithm::Depthwise;
  if (weightLayout(g, conv) == kLayoutWinograd)
    return ConvAlgorithm::Winograd;
  if (packedConvFits(g, conv) && weightInPanels(g, conv))
    return ConvAlgorithm::Packed;
  if (isPointwise(a))
    return ConvAlgorithm::Pointwise;
  if (unitStride)
    return ConvAlgorithm::Direct;
  bool gathered = a.groups > 1 ? im2colBytes(g, conv) > kConvGroupedIm2colMaxBytes
                                : out.dims.at(3) >= kConvImplicitMinWidth || im2colBytes(g, conv) > kConvIm2colCacheBytes;
  return gathered ? ConvAlgorithm::Gathered : ConvAlgorithm::Im2col;
}

int64_t convScratchBytes(const Graph &g, const Node &conv) {
  switch (convAlgorithm(g, conv)) {
  case ConvAlgorithm::Depthwise: {
    const Shape &out = g.value(conv.output).shape;
    int64_t plane = depthwisePlaneFloats(conv.attrs, out.dims.at(2), out.dims.at(3));
    if (fusedExpansion(g, conv)) {
      ExpandDepthwisePlan p = expandDepthwisePlan(g, conv);
      return std::max(p.bandFloats + plane, p.lanesFloats) * int64_t(sizeof(float));
    }
    if (depthwiseLanes(g, conv))
      return (out.dims.at(1) + 15) / 16 * depthwiseLanesBlockFloats(g, conv) * int64_t(sizeof(float));
    return out.dims.at(1) * plane * int64_t(sizeof(float));
  }
  case ConvAlgorithm::Direct: return paddedImageStride(g, conv) * int64_t(sizeof(float));
  case ConvAlgorithm::Im2col: return im2colBytes(g, conv);
  case ConvAlgorithm::Winograd: return winogradPlan(g, conv).workFloats * int64_t(sizeof(float));
  case ConvAlgorithm::Packed: {
    if (isStridedPointwise(conv.attrs))
      return im2colBytes(g, conv);
    if (fusedChannelScale(g, conv)) { // the scaled weights, in panels
      int64_t OC = g.value(conv.output).shape.dims.at(1), C = g.value(conv.inputs.at(0)).shape.dims.at(1);
      return (OC + kPackPanelWidth - 1) / kPackPanelWidth * kPackPanelWidth * C * int64_t(sizeof(float));
    }
    if (!convPads(conv))
      return 0;
    return packedImageGroup(g, conv) * paddedImageStride(g, conv) * int64_t(sizeof(float));
  }
  default: return 0;
  }
}

int64_t paddedImageFloats(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  int64_t Hp = in.dims.at(2) + a.pad[0] + a.pad[2], Wp = in.dims.at(3) + a.pad[1] + a.pad[3];
  return in.dims.at(1) * Hp * Wp;
}

int64_t paddedImageStride(const Graph &g, const Node &conv) {
  return paddedImageFloats(g, conv) + kConvPadSlackFloats;
}

int64_t packedImageGroup(const Graph &g, const Node &conv) {
  if (convAlgorithm(g, conv) != ConvAlgorithm::Packed || !convPads(conv) || conv.attrs.groups > 1)
    return 1;
  const Shape &out = g.value(conv.output).shape;
  int64_t OH = out.dims.at(2), OW = out.dims.at(3);
  PackedTile tile = packedConvTile(OH, OW);
  int64_t tiles = (OH + tile.rows - 1) / tile.rows * ((OW + tile.cols - 1) / tile.cols);
  int64_t byBytes = kPackedImagesBytes / (paddedImageFloats(g, conv) * int64_t(sizeof(float)));
  return std::clamp<int64_t>(std::min(kPackGroupTiles / tiles, byBytes), 1, kPackedMaxImages);
}

// seqk_depthwise2d_phased_linear, seqk_depthwise2d_phased_width and
// seqk_depthwise2d_phased_plane (seqk.h).
bool depthwiseLinear(const Attrs &a, int64_t OH, int64_t OW) {
  int64_t padded = OW + (a.kernel[1] - 1) * a.dilation[1];
  int64_t positions = (OH - 1) * padded + OW;
  return a.stride[0] == 1 && a.stride[1] == 1 && positions <= kDepthwiseLinearMax &&
         (positions + 15) / 16 < OH * ((OW + 15) / 16);
}

bool depthwiseLanes(const Graph &g, const Node &conv) {
  const Shape &in = g.value(conv.inputs.at(0)).shape;
  const Shape &out = g.value(conv.output).shape;
  int64_t OHW = out.dims.at(2) * out.dims.at(3);
  bool stride1 = conv.attrs.stride[0] == 1 && conv.attrs.stride[1] == 1;
  bool manyChannels = out.dims.at(1) >= kDepthwiseLanesLargePlaneMinChannels;
  int64_t most = stride1 && manyChannels ? kDepthwiseLanesMaxPlaneStride1 : kDepthwiseLanesMaxPlane;
  return in.dims.at(2) * in.dims.at(3) >= 16 && OHW >= 16 && OHW <= most && !fusedExpansion(g, conv);
}

int64_t depthwiseLanesBlockFloats(const Graph &g, const Node &conv) {
  // seqk_depthwise2d_lanes_block: the padded positions, the outputs and
  // the taps, 16 lanes each
  const Attrs &a = conv.attrs;
  const Shape &out = g.value(conv.output).shape;
  int64_t OH = out.dims.at(2), OW = out.dims.at(3);
  int64_t Hp = (OH - 1) * a.stride[0] + (a.kernel[0] - 1) * a.dilation[0] + 1;
  int64_t Wp = (OW - 1) * a.stride[1] + (a.kernel[1] - 1) * a.dilation[1] + 1;
  return (Hp * Wp + OH * OW + a.kernel[0] * a.kernel[1]) * 16;
}

int64_t depthwisePhaseWidth(const Attrs &a, int64_t OH, int64_t OW) {
  if (depthwiseLinear(a, OH, OW))
    return OW + (a.kernel[1] - 1) * a.dilation[1];
  return (OW + 15) / 16 * 16 + (a.kernel[1] - 1) * a.dilation[1] / a.stride[1];
}

const Node *fusedConvolutionInput(const Graph &g, const Node &node) {
  if (node.inputs.empty())
    return nullptr;
  int producer = g.value(node.inputs[0]).producer;
  if (producer < 0)
    return nullptr;
  const Node &conv = g.nodes[size_t(producer)];
  return conv.kind == OpKind::Conv2d && conv.fusedInto >= 0 && &g.nodes[size_t(conv.fusedInto)] == &node ? &conv
                                                                                                          : nullptr;
}

const Node *fusedExpansion(const Graph &g, const Node &depthwise) { return fusedConvolutionInput(g, depthwise); }

ChannelScale channelScaleOperands(const Graph &g, const Node &mul) {
  if (mul.inputs.size() != 2)
    return {};
  for (int k = 0; k < 2; ++k) {
    const Shape &x = g.value(mul.inputs[size_t(k)]).shape, &s = g.value(mul.inputs[size_t(1 - k)]).shape;
    if (x.rank() == 4 && s.rank() == 4 && x.dims[0] == s.dims[0] && x.dims[1] == s.dims[1] && s.dims[2] == 1 &&
        s.dims[3] == 1 && x.dims[2] * x.dims[3] > 1)
      return {mul.inputs[size_t(k)], mul.inputs[size_t(1 - k)]};
  }
  return {};
}

const Node *fusedChannelScale(const Graph &g, const Node &conv) {
  if (conv.inputs.empty())
    return nullptr;
  int producer = g.value(conv.inputs[0]).producer;
  if (producer < 0)
    return nullptr;
  const Node &mul = g.nodes[size_t(producer)];
  return mul.kind == OpKind::Binary && mul.fusedInto >= 0 && &g.nodes[size_t(mul.fusedInto)] == &conv ? &mul
                                                                                                       : nullptr;
}

ExpandDepthwisePlan expandDepthwisePlan(const Graph &g, const Node &dw) {
  const Attrs &a = dw.attrs;
  const Shape &in = g.value(dw.inputs.at(0)).shape, &out = g.value(dw.output).shape;
  int64_t W = in.dims.at(3), OH = out.dims.at(2), C = out.dims.at(1);
  auto rowsRead = [&](int64_t rows) { return (rows - 1) * a.stride[0] + (a.kernel[0] - 1) * a.dilation[0] + 1; };
  int64_t rowBytes = kPackPanelWidth * W * int64_t(sizeof(float));
  int64_t most = 1;
  while (most < OH && rowsRead(most + 1) * rowBytes <= kExpandBandBytes)
    ++most;
  ExpandDepthwisePlan p;
  p.panels = (C + kPackPanelWidth - 1) / kPackPanelWidth;
  p.bands = (OH + most - 1) / most;
  // at least two bands, which two threads take one each: the rows a core
  // writes are the rows the next layer's tasks on that core read (one
  // band of a 56 x 56 plane, its panels split over the cores instead, made
  // the MobileNet block 0.625 -> 0.711 ms on 2 threads)
  if (p.bands < 2 && OH >= 2)
    p.bands = 2;
  // an even number of tasks, which two threads share evenly (7 bands x 3
  // panels kept a core waiting a tenth of EfficientNet's first expansion)
  if (p.bands * p.panels % 2 != 0 && p.bands < OH)
    ++p.bands;
  p.bandRows = (OH + p.bands - 1) / p.bands;
  p.bands = (OH + p.bandRows - 1) / p.bandRows;
  p.inputRows = std::min(rowsRead(p.bandRows), in.dims.at(2));
  p.bandFloats = kPackPanelWidth * p.inputRows * W;
  if (expandDepthwiseLanesFits(g, dw)) {
    // seqk_expand_depthwise_lanes_work
    int64_t OW = out.dims.at(3);
    int64_t reach = (std::max<int64_t>(OW, 16) - 1) * a.stride[1] + (a.kernel[1] - 1) * a.dilation[1] + 1;
    int64_t columns = std::max(reach, a.pad[1] + W);
    p.lanesFloats = 2 * rowsRead(p.bandRows) * columns * 16 + a.kernel[0] * a.kernel[1] * 2 * 16;
  }
  return p;
}

bool expandDepthwiseLanesFits(const Graph &g, const Node &dw) {
  const Attrs &a = dw.attrs;
  return g.value(dw.inputs.at(0)).shape.dims.at(3) >= kExpandLanesTile && (a.stride[1] == 1 || a.stride[1] == 2);
}

int64_t depthwisePlaneFloats(const Attrs &a, int64_t OH, int64_t OW) {
  int64_t rows = (OH - 1) * a.stride[0] + (a.kernel[0] - 1) * a.dilation[0] + 1;
  return rows * a.stride[1] * depthwisePhaseWidth(a, OH, OW) + kDepthwiseSlackFloats;
}

int64_t convImageSlotTasks(const Graph &g, const Node &conv) {
  if (convAlgorithm(g, conv) == ConvAlgorithm::Winograd)
    return winogradPlan(g, conv).tasks();
  if (fusedExpansion(g, conv))
    return expandDepthwisePlan(g, conv).tasks();
  return 0;
}

int64_t convScratchSlotBytes(const Graph &g, const Node &conv) {
  return (convScratchBytes(g, conv) + 63) / 64 * 64;
}

} // namespace seq::ir

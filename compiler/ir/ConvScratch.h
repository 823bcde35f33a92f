// ConvScratch: how each Conv2d is computed, and the scratch buffer that
// needs. One decision shared by the memory planner (which reserves the
// buffer) and the code generator (which emits the algorithm).
#pragma once

#include "ir/Graph.h"

namespace seq::ir {

enum class ConvAlgorithm {
  Depthwise, // groups == C == OC: seqk_depthwise2d_phased on a per-channel padded copy
  Pointwise, // 1x1, stride 1, no padding, one group: a GEMM on the input
  Direct,    // stride 1: seqk_conv2d_direct on a zero-padded copy
  Im2col,    // im2col into the scratch buffer, then seqk_gemm
  Gathered,  // seqk_conv2d_gemm gathers im2col blocks as it packs them
  Packed,    // seqk_conv2d_packed on panel-packed weights (on a zero-padded copy when it pads)
  Winograd,  // 3x3, stride 1: seqk_conv2d_winograd on transformed weights, each task padding its rows
};

ConvAlgorithm convAlgorithm(const Graph &g, const Node &conv);

// Whether seqk_conv2d_packed suits the convolution's shape: one group, at
// least kPackedMinChannels output channels, column stride 1 or 2. A
// pointwise one (1x1, stride 1, no padding) runs as seqk_conv2d_pointwise,
// in runs of positions across rows, on any plane. The pipeline
// (passes::packConvWeights) then packs its weight in panels, and
// convAlgorithm says Packed once it is.
bool packedConvFits(const Graph &g, const Node &conv);
// A grouped convolution (not depthwise, not 1x1) whose groups each fill
// half a panel (16 output channels, ResNeXt-50's third stage) or whole
// panels (32, 64, ...: its fourth): packed in panels like any other, the
// group's channels are lanes of its own panels, and seqk_conv2d_packed
// computes it group by group (ResNeXt's 3x3s of 16 and 32 channels a
// group ran at 60-80 GFLOP/s on the direct kernel's 8-row tiles).
bool groupedPackedFits(const Graph &g, const Node &conv);
// And groups of at most kGroupLanesMaxChannels output channels (ResNeXt's
// 4, RegNet's 8) of stride 1 on rows of kLanesConvMinWidth or more: each
// group by the lanes kernel (seqk_conv2d_packed_lanes, output positions in
// the lanes, its epilogue in registers), its channels at their lanes of
// the panel they share with the neighbouring groups. (RegNetY-400MF's 104
// channels in groups of 8 at 28 x 28, with BatchNorm and ReLU: 401 ->
// 208 us on one thread, from the direct kernel. At stride 2 the lanes'
// shuffles lost to im2col: 237 -> 303 us at the same size.)
bool groupLanesFit(const Graph &g, const Node &conv);
constexpr int64_t kGroupLanesMaxChannels = 8;
// A packed convolution of one group, column stride 2 and padding that the
// lanes kernel takes (a stem's: RegNet's 3x3 on 3 channels, 27 taps) on
// rows of kLanesConvMinWidth or more: on a padded copy whose rows are
// split by column parity (seqk_pad2d_phased, SEQK_LANES_PHASED), a
// tap's 16 outputs read one load, where the plain rows took two and a
// shuffle for each tile of channels (RegNet's stem, 3 -> 32 at 112 x 112
// with BatchNorm and ReLU: 507 -> 408 us on one thread). (ResNet-18's 7x7
// stem, 147 taps, stays on the packed tiles: 2.88 ms there, 3.00 so.)
bool columnPhasedLanes(const Graph &g, const Node &conv);
constexpr int64_t kLanesPhasedMaxTaps = 64; // kLanesConvMaxTaps
constexpr int64_t kLanesPhasedMaxRow = 2048; // SEQK_PHASED_ROW_MAX
constexpr int64_t kPackedMinChannels = 16;
// SEQK_LANES_CONV_MAX_TAPS (kernels/seqk.h) and the rows the lanes kernel
// needs: convolutions of this many taps or fewer an output, on rows of
// kLanesConvMinWidth or more, take it whatever their output channels
// (LeNet-5's 1 -> 6 channels, 5x5); codegen's packedLanes says the same.
constexpr int64_t kLanesConvMaxTaps = 64;
constexpr int64_t kLanesConvMinWidth = 16;
// groups == C == OC (a 1 -> 1 convolution too): the depthwise kernels,
// which read the weight unpacked.
bool isDepthwise(const Graph &g, const Node &conv);
// Whether the convolution's weight is packed in panels (kLayoutPanels).
bool weightInPanels(const Graph &g, const Node &conv);

// Whether Winograd's F(2x2, 3x3) suits the convolution
// (seqk_conv2d_winograd): 3x3, stride 1, dilation 1, one group, at least
// kWinogradMinChannels channels in and out (fewer input channels leave
// its GEMMs too short to pay for the transforms) and an output plane of
// at least kWinogradMinPlane rows and columns (a tile of 2x2 outputs
// computes 4x4 of products, wasted past the plane's edge); on a plane of
// kWinogradSmallPlane (the 7x7 stage of ImageNet networks: 16 tiles for
// 49 outputs, a third of the products wasted) only with at least
// kWinogradSmallPlaneChannels channels in and out. ResNet-18's 512-channel
// 7x7 layers took 1.45 ms packed, 1.15-1.2 Winograd (the model 2-6%
// faster, batch 1 and 16, 1 and 2 threads; once its transforms were
// row-packed: in rows of 4 tiles, a quarter of each vector, they had been
// slower); DenseNet-121's 128 -> 32 ones 37-40 us packed, 54-61 Winograd.
// The same holds below kWinogradOddPlane on planes of odd rows or columns,
// whose last tiles are half outside: SqueezeNet's 48 -> 192 and 64 -> 256
// layers at 13x13 (7x7 tiles for 13x13 outputs) took 216 and 355 us
// Winograd, 188 and 321 packed, at batch 1 on one thread.
// The pipeline (passes::packConvWeights) then transforms its weight
// (kLayoutWinograd), and convAlgorithm says Winograd once it has.
bool winogradFits(const Graph &g, const Node &conv);
constexpr int64_t kWinogradMinChannels = 16;
constexpr int64_t kWinogradMinPlane = 8;
constexpr int64_t kWinogradSmallPlane = 7;
constexpr int64_t kWinogradSmallPlaneChannels = 128;
constexpr int64_t kWinogradOddPlane = 16;

// How seqk_conv2d_winograd computes one image: tiles of 2x2 outputs,
// `tileRows` rows of `tileCols`. Its tasks: `blocks` blocks of rows of
// tiles, block b the rows [b * tileRows / blocks, (b + 1) * tileRows /
// blocks) (so that two threads' halves of them hold as many rows: blocks
// of blockRows rows and a shorter last one gave ResNet-18's 28x28 layers
// 8 and 6), at most blockRows rows, whose transformed tiles (16 x C x
// tiles) take at most kWinogradBlockBytes, times groups of panels of 32
// output channels, about kWinogradTasks of them, more blocks first: each
// task transforms its block's input tiles again. An odd number of whole
// blocks (7 at ResNet's 56x56) would give one of 2 threads a block more:
// the last block is split in two halves of its panels instead
// (splitLast), the halves in the middle and at the end of the tasks, so
// that each thread's contiguous half of them holds one. (Splitting every
// block into one task per panel measured slower: the VGG block on 2
// threads went 1.25 -> 1.29 ms at batch 1, 22 -> 26 ms at batch 16.)
// pointTile: the pointwise tile width for the fewest tiles a block has.
// Its call shares a specialisation of the kernel with those of the
// layers that differ from it only in C, OC and blockRows
// (ShareKernelCalls; codegen/NodeGenConvWinograd.cpp). (Rows of fewer
// than 7 tiles once had their own: transformed row by row, ResNetSmall's
// two 8x8 layers, 4 tiles a row, took ~8% longer on a shared one; with
// the row-packed transforms +0.2%, and GoogLeNet's 7x7 layers -0.6%.)
// vStride: the floats from one element's matrix of transformed tiles to
// the next, C * blockRows * tileCols + 16 at least; the largest of those
// of the layers it may share with, so that in the shared specialisation
// it is still a constant (the input transform's 16 stores a tile: as a
// run-time value it made ResNetSmall 0.5-4% slower).
// Each task pads its block's input rows itself, in its work buffer
// (seqk_conv2d_winograd_work floats, rounded up to 64 bytes).
// imageGroup: at batch 2 or more, the images a call (fewer in the last
// groups) of a layer whose image is one block of at most
// kWinogradGroupTiles tiles, whose transformed weights take at most
// kWinogradGroupWeightBytes (a group's products find them in L2) and
// that has kWinogradGroupMinChannels channels in and out or more; 1 if
// not. Each product then reads its weights once for the group and runs
// over all its tiles (in tiles of 14 when they make runs of 28 or more,
// seqk_conv2d_winograd). A group's transformed tiles and a panel's
// products take at most kWinogradGroupBytes (they stay in L2 while every
// panel's products read them), and there are at least as many groups as
// threads. vStride and workFloats hold for both ways. (Batch 16, one
// thread: the 64x64 ResNet's 8x8 layers, 16 tiles an image, 1.55 -> 1.25
// ms, 6 images a call; its 16x16 ones 1.33 -> 1.22 ms, 2 a call; groups of
// 512 KB or 2 MB were slower. The calls share the layer's specialisation
// of the kernel: with a tile width of their own, GoogLeNet's build took
// 0.16 s longer, and its narrow grouped branches' tasks 0.05 s. ResNet-18's
// 7x7 layers, whose 16.8 MB of weights come from L3 either way, and 4x4
// planes of 256 channels, 4.2 MB, gained nothing: a group of 8 images' 32
// tiles waited on them.)
struct WinogradPlan {
  int64_t tileRows = 1, tileCols = 1;
  int64_t blockRows = 1, blocks = 1, pointTile = 1;
  int64_t panels = 1, panelGroups = 1;
  bool splitLast = false;
  int64_t imageGroup = 1;
  int64_t vStride = 0;
  int64_t workFloats = 0;
  int64_t tasks() const { return blocks * panelGroups + (splitLast ? 1 : 0); }
};
WinogradPlan winogradPlan(const Graph &g, const Node &conv);
// Sets attrs.winogradStride of every Winograd convolution to
// the largest vStride of the layers it may share with, in one pass over
// the graph (passes::packConvWeights, once the layouts are settled):
// winogradPlan then reads it rather than searching the graph each call.
void shareWinogradStrides(Graph &g);
constexpr int64_t kWinogradBlockBytes = 512 * 1024;
constexpr int64_t kWinogradTasks = 2;
constexpr int64_t kWinogradGroupTiles = 64;
constexpr int64_t kWinogradGroupBytes = 1024 * 1024;
constexpr int64_t kWinogradGroupImages = 16;
constexpr int64_t kWinogradGroupWeightBytes = 1024 * 1024;
constexpr int64_t kWinogradGroupMinChannels = 64;
// Whether the convolution pads (Packed then reads a zero-padded copy).
bool convPads(const Node &conv);
// 1x1, stride 1, no padding, one group: output position p reads input
// position p only.
bool isPointwise(const Attrs &conv);
// A 1x1 convolution of stride above 1, without padding, of one group (a
// ResNet's downsampling shortcut): output position (oh, ow) reads input
// position (oh*SH, ow*SW) only. A Packed one runs as a pointwise
// convolution on a subsampled copy of each image, in its scratch buffer
// (the copy: seqk_im2col of a 1x1 kernel). On its strided input the
// packed kernel's tiles had a short channel loop each (32 to 256
// channels) for a transpose and a store: ResNet-18's three shortcuts took
// 178, 141 and 185 us at batch 1, 40-50% of the FMA peak.
bool isStridedPointwise(const Attrs &conv);

// The tile of seqk_conv2d_packed for an OH x OW output: R rows x TW
// columns, R <= 3, R*TW <= 14, R <= OH, TW <= OW, of the fewest cycles by
// a simple count: tiles x (positions + 2 weight loads, at least 8: narrow
// tiles stream their weights faster than FMAs use them; 3 more for a tile
// of several rows, which cannot store whole vectors).
struct PackedTile {
  int64_t rows = 1, cols = 1;
};
PackedTile packedConvTile(int64_t OH, int64_t OW);
// The width of the last tile of a pointwise run of `run` positions in
// tiles of TW (seqk_conv2d_pointwise's lastTW): the positions past the
// whole tiles, when there are at least kPointwiseLastTileMin of them, so
// that no position is computed twice (MobileNetV2's 7x7 planes, 49
// positions in tiles of 13: 13, 13, 13 and 10 instead of a fourth 13
// moved left; the model 1.3% faster on one thread); else TW, the last
// tile moved left to end with the run (fewer positions would leave a
// tile of two weight loads for each multiply-add or two).
constexpr int64_t kPointwiseLastTileMin = 4;
int64_t pointwiseLastTile(int64_t run, int64_t TW);

// A 1x1 expansion convolution fused into the depthwise convolution that
// reads it (passes::fuseExpandDepthwise): the pair runs in tasks of one
// band of the depthwise's output rows and one panel of 32 channels, each
// computing the expansion's rows the band reads into the scratch buffer
// (recomputing the few rows two bands share), then the band, while those
// rows are in L2: the expanded tensor, the largest of MobileNetV2 and
// EfficientNet, never goes to memory. A band is as many output rows as
// keep its expanded rows within kExpandBandBytes, split evenly. (512 KB,
// a quarter of a core's L2: at 256 KB, EfficientNet's 112 x 112 stride-2
// expansion recomputed a row in 15 for its bands, SiLU included; 1 thread,
// batch 1: that layer 0.945 -> 0.882 ms, MobileNetV2's 0.508 -> 0.475,
// EfficientNet-B0 9.74 -> 9.46 ms; batch 16 unchanged.)
struct ExpandDepthwisePlan {
  int64_t bandRows = 1;  // output rows a band (the last may have fewer)
  int64_t bands = 1;
  int64_t inputRows = 1; // expanded rows a band reads, at most
  int64_t panels = 1;    // of kPackPanelWidth channels
  int64_t bandFloats = 0; // one panel's expanded rows: panel width x inputRows x W
  // With 16 channels in the lanes (expandDepthwiseLanes): the work of
  // seqk_expand_depthwise_lanes for a band, padded rows and columns.
  int64_t lanesFloats = 0;
  int64_t tasks() const { return bands * panels; }
};
constexpr int64_t kExpandBandBytes = 512 * 1024;
// Expansions of smaller planes stay separate (their output stays in L2).
constexpr int64_t kExpandMinPlane = 28 * 28;
ExpandDepthwisePlan expandDepthwisePlan(const Graph &g, const Node &depthwise);
// Whether the pair's shapes suit seqk_expand_depthwise_lanes (input rows
// of at least kExpandLanesTile positions, column stride 1 or 2); the code
// generator also needs both epilogues in a form it takes.
bool expandDepthwiseLanesFits(const Graph &g, const Node &depthwise);
constexpr int64_t kExpandLanesTile = 14;
// The most taps a convolution producing the depthwise input may have
// there (DWX_MAX_TAPS).
constexpr int64_t kLanesProducerMaxTaps = 64;
// The expansion fused into a depthwise convolution, or null.
const Node *fusedExpansion(const Graph &g, const Node &depthwise);
// The convolution producing `node`'s first input when it is fused into
// `node` (an expansion into its depthwise convolution, a stem into its max
// pool), or null.
const Node *fusedConvolutionInput(const Graph &g, const Node &node);
// A Binary Mul's operands as a channel scale: x [B, C, H, W] and s
// [B, C, 1, 1] (their values; -1 when the product is not one).
struct ChannelScale {
  int x = -1, scale = -1;
};
ChannelScale channelScaleOperands(const Graph &g, const Node &mul);
// The channel scale fused into a pointwise convolution
// (passes::fuseChannelScale), or null; and the least positions per output
// channel it takes (scaling [OC, C] weights per image, against the
// product's [C, H, W]).
const Node *fusedChannelScale(const Graph &g, const Node &conv);
constexpr int64_t kChannelScaleMinRatio = 4;
// Whether seqk_depthwise2d_phased computes the plane in padded positions
// (small stride-1 planes) rather than row by row.
bool depthwiseLinear(const Attrs &conv, int64_t OH, int64_t OW);
// Whether a depthwise convolution runs with 16 channels in the vector
// lanes (seqk_depthwise2d_lanes): output planes of 16 to
// kDepthwiseLanesMaxPlane positions, or to kDepthwiseLanesMaxPlaneStride1
// at stride 1 with at least kDepthwiseLanesLargePlaneMinChannels channels, input
// planes of at least 16. Its tasks are blocks of 16 channels, each with
// depthwiseLanesBlockFloats of scratch. (At stride 1 on larger planes
// than 14 x 14 it beats the phased kernel's per-channel copy and rows of
// 64 columns for 56 outputs: a 3x3 on 32 x 56 x 56 29 -> 21.5 us, on 128
// x 28 x 28 27 -> 25 on one Zen 5 thread; at stride 2 it reads the whole
// plane for a quarter of the outputs and lost 3%; with few channels most
// lanes would be empty.)
bool depthwiseLanes(const Graph &g, const Node &conv);
constexpr int64_t kDepthwiseLanesMaxPlane = 14 * 14;
constexpr int64_t kDepthwiseLanesMaxPlaneStride1 = 56 * 56;
constexpr int64_t kDepthwiseLanesLargePlaneMinChannels = 16;
int64_t depthwiseLanesBlockFloats(const Graph &g, const Node &conv);

// Images a padded Packed convolution computes in one kernel call
// (seqk_conv2d_packed_images) when a batch runs as slot tasks, or image
// by image (ir::runsImageByImage). An image
// of a late, small plane has few tiles, and its convolution has the
// largest weights (512 x 512 x 3 x 3 is 9.4 MB): image by image, every
// image would stream them all again for little work. So the tiles of
// several images share each block of weights: as many images as fill a
// group of the kernel's tiles (kPackGroupTiles, PACK_GROUP_TILES), at most
// kPackedMaxImages, their padded copies at most kPackedImagesBytes. 1 for
// every other convolution.
int64_t packedImageGroup(const Graph &g, const Node &conv);
constexpr int64_t kPackGroupTiles = 32;
constexpr int64_t kPackedMaxImages = 8;
constexpr int64_t kPackedImagesBytes = 512 * 1024;

// The planner reserves kConvScratchSlots of these buffers: several images
// run as that many tasks, each converting and computing its run of images
// in a buffer of its own, so that the threads work on different images
// at once (codegen/NodeGenGemm.cpp).
constexpr int64_t kConvScratchSlots = 8;
// The slot tasks a convolution splits each image into, each with a buffer
// of its own, whether or not the forward pass runs image by image: an
// expansion fused into its depthwise convolution (its bands and panels)
// and a Winograd convolution (its blocks and panel groups); 0 for the
// others. The planner reserves min(this, kConvScratchSlots) buffers.
int64_t convImageSlotTasks(const Graph &g, const Node &conv);
// A slot's bytes: convScratchBytes rounded up to 64, so every slot is as
// aligned as the first.
int64_t convScratchSlotBytes(const Graph &g, const Node &conv);

// Bytes of one image's scratch buffer, reused image after image: the
// padded input [C, Hp, Wp] (plus SEQK_CONV_SLACK floats) of a Direct
// convolution or of a Packed one that pads (packedImageGroup of them), the [groups][C/g*KH*KW][OH*OW]
// im2col of an Im2col one, C depthwisePlaneFloats of a Depthwise one (each
// task uses the plane of its first channel; a block of 16 channels in the
// lanes, depthwiseLanesBlockFloats), or with an expansion fused into it
// one band of expanded rows and one depthwisePlaneFloats (a slot task's;
// or, if more, the work of seqk_expand_depthwise_lanes for a band),
// a Winograd one's work buffer (a slot task's), 0 for the others.
int64_t convScratchBytes(const Graph &g, const Node &conv);
// Floats of one image's zero-padded input [C, Hp, Wp], and between two
// images' padded copies in the scratch buffer (each with the
// SEQK_CONV_SLACK floats seqk_pad2d zeroes after it).
int64_t paddedImageFloats(const Graph &g, const Node &conv);
int64_t paddedImageStride(const Graph &g, const Node &conv);

// seqk_depthwise2d_phased's copy of one channel: its row of Wq floats per
// column phase (seqk_depthwise2d_phased_width), and all its floats
// (seqk_depthwise2d_phased_plane).
int64_t depthwisePhaseWidth(const Attrs &conv, int64_t OH, int64_t OW);
int64_t depthwisePlaneFloats(const Attrs &conv, int64_t OH, int64_t OW);
constexpr int64_t kDepthwiseSlackFloats = 64; // SEQK_DW_SLACK
constexpr int64_t kDepthwiseLinearMax = 256;  // SEQK_DW_LINEAR_MAX

// A strided convolution gathers (Gathered) when its output rows are at
// least kConvImplicitMinWidth wide or its im2col is too large to stay in
// L2 between its two copies; a narrow plane with a small im2col (LeNet-5's
// 10-wide conv) measured faster with im2col + seqk_gemm.
constexpr int64_t kConvImplicitMinWidth = 16;
constexpr int64_t kConvIm2colCacheBytes = 256 * 1024;
// A grouped one takes im2col up to this size: gathering a block of
// columns per tile costs more than the GEMM of a group's few output
// channels that reads it (ResNeXt-50's 32-group strided 3x3s, 8 to 32
// channels a group: 2.3, 1.9 and 1.5 ms gathered, 1.15, 0.93 and 0.89
// with their 7.2, 3.6 and 1.8 MB im2col; one thread).
constexpr int64_t kConvGroupedIm2colMaxBytes = 16 << 20;
constexpr int64_t kConvPadSlackFloats = 64; // SEQK_CONV_SLACK

} // namespace seq::ir

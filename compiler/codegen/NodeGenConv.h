// NodeGenConv.h: what the Conv2d code generator's files share, internal to
// codegen/: NodeGenConv.cpp (genConv2d and the per-algorithm tasks) and
// NodeGenConvFused.cpp (tasks that span two nodes or several images).
#pragma once

#include "codegen/Epilogue.h"
#include "codegen/NodeGen.h"
#include "ir/ConvScratch.h"

#include <array>

namespace seq::codegen {

// A Conv2d's dims and attributes, checked (an internal error otherwise).
struct ConvShape {
  int64_t B = 0; // dims[0] when fixed; unused when batched
  int64_t C, H, W, OC, OH, OW, G, KH, KW, SH, SW, PH, PW, DH, DW;
  // its padded copy column-phased for the lanes kernel
  // (ir::columnPhasedLanes: seqk_pad2d_phased, and SEQK_LANES_PHASED for
  // seqk_conv2d_packed_lanes' column stride)
  bool phased = false;
  const char *padKernel() const { return phased ? "seqk_pad2d_phased" : "seqk_pad2d"; }
  int64_t lanesStride() const { return phased ? kLanesPhased : SW; }
  static constexpr int64_t kLanesPhased = 3; // SEQK_LANES_PHASED
  int64_t Cg() const { return C / G; }
  int64_t OCg() const { return OC / G; }
  int64_t Kc() const { return Cg() * KH * KW; } // GEMM depth: one group's patch
  int64_t OHW() const { return OH * OW; }
  bool depthwise() const { return G == C && G == OC; }
  // A 1x1 convolution that reads its input as the GEMM's B directly.
  bool pointwise(const ir::Attrs &a) const {
    return KH == 1 && KW == 1 && SH == 1 && SW == 1 && a.pad[0] == 0 && a.pad[1] == 0 &&
           a.pad[2] == 0 && a.pad[3] == 0;
  }
};
ConvShape convShape(const ir::Graph &g, const ir::Node &node);
// Whether seqk_conv2d_packed_lanes computes this packed convolution (few
// taps, rows of 16 outputs or more, a column stride of 1 or 2: output
// positions in the lanes): the compiler calls it then, with the epilogue
// in register form where it has one.
bool packedLanes(const ConvShape &s);
// Whether a packed grouped convolution runs group by group on that kernel
// (groups of at most ir::kGroupLanesMaxChannels: ir::groupLanesFit).
inline bool groupLanes(const ConvShape &s) { return s.G > 1 && s.OCg() <= ir::kGroupLanesMaxChannels; }

// How a packed convolution's image is split: tasks of one panel of 32
// output channels and a block of output rows (a multiple of the tile's),
// about kTasksWanted per image, so that even one image keeps the threads
// busy. The threads take contiguous runs of the tasks (seqrt's pool):
// in rowMajor order (the panels within each block of rows) when the input
// image is at least as large as the weights, so that each thread reads
// the rows of its share, which it mostly wrote itself in the layer before
// (the 64x64 ResNet's 32x32 layers on 2 threads: a 1 MB input read half
// from the other core took 52.5 us where 45.9 us row-major, the Winograd
// layer after it 84 -> 62 us), or when the weights are small enough for
// each core's L2 to hold all of them (kRowMajorMaxWeightBytes: its 64 ->
// 128 stride-2 layer, 295 KB of weights on a 64 KB input, 54 -> 46 us, the
// Winograd layer after it 70 -> 62 us, the model 2% faster); panel-major
// otherwise, each thread reading the weights of its panels only (its 4x4
// layers, 1.2-2.4 MB of weights: 3% slower row-major).
constexpr int64_t kRowMajorMaxWeightBytes = 512 << 10;
struct PackedSplit {
  ir::PackedTile tile;
  bool rowMajor = false;
  int64_t panels = 1, rowsPerTask = 1, rowBlocks = 1;
  int64_t tasks() const { return panels * rowBlocks; }
};
PackedSplit packedSplit(const ConvShape &s);

// Cross-layer prefetch (the kernels' xl, xlBytes): the packed weights of
// the next nodes that have any, read into the caches by this node's tasks
// while it computes, each task a slice. At batch 1 a deep model's weights
// are not in the caches from one call to the next; prefetched, a layer's
// first tiles do not wait for memory. Only the weights of the next nodes
// that follow each other in the weight buffer, up to kNextWeightsMaxBytes:
// each task's tiles prefetch at most XL_MAX_LINES_PER_TILE lines of its
// slice, so a wide range was read only at the start of each slice, layers
// ahead, while the next layer's came from memory (Zen 5, batch 1, one
// thread, weights from memory: 30 MobileNetV2 blocks at 7 x 7, 6.3 -> 5.1
// ms with 1 MB instead of 6 and the kernels' next-panel prefetch;
// ResNet-18 12.2 -> 11.3; MobileNetV2 3.36 -> 3.16 with the next-panel
// prefetch, 3.43 -> 3.31 more with the threshold below at 8 MB, not 16;
// the first 1 MB of a bigger next layer: no gain). Only where a call at
// batch 1 touches at least kNextWeightsMinCallBytes (the packed weights
// and one image's workspace, callBytesAtBatch1): below it the
// weights stay in L2 and the LLC from call to call, and prefetching them
// costs. On Zen 5, the 64x64 ResNet (13.4 MB of weights, 2.7 MB of
// workspace: 16.8 MB) at batch 1 on two threads took 0.599 -> 0.609 ms
// (minimum of 11; medians 0.632 -> 0.682) with it, on one thread mixed;
// MobileNetV2 (13.4 and 6.2 MB: 20.3 MB) 3.43 -> 3.31 on one thread.
// (Zen 4: the 64x64 ResNet 1.77 -> 1.95 ms with the 6 MB range.)
class NextWeights {
public:
  static constexpr int64_t kNextWeightsMaxBytes = 1 << 20;
  static constexpr int64_t kNextWeightsMinCallBytes = 18 << 20;
  // The bytes a call at batch 1 touches: packed weights and workspace.
  static int64_t callBytesAtBatch1(const ir::Graph &g);
  // The weights node `index` prefetches: `floats` floats of the weight
  // buffer from `offset`, packed tensor `first`'s first (none: first < 0);
  // `enabled`: the model is big enough to prefetch at all.
  struct Range {
    bool enabled = false;
    int first = -1;
    int64_t offset = 0, floats = 0;
  };
  static Range of(const ir::Graph &g, int index);
  // Node `index`'s next weights, captured into `task`.
  NextWeights(LlvmGen &gen, int index, Task &task);
  // Task `t`'s slice of `tasks` (task-side i64s): {pointer, bytes}, the
  // bytes 0 when there is nothing to prefetch or `image` (task-side, or
  // null) is not the first: the other images of a batch find the weights
  // cached by then. With `end`, the slices of the tasks [t, end).
  std::array<llvm::Value *, 2> slice(llvm::IRBuilder<> &b, llvm::Value *t, llvm::Value *tasks,
                                     llvm::Value *image = nullptr, llvm::Value *end = nullptr) const;

private:
  llvm::Value *at_ = nullptr, *lines_ = nullptr; // task-side: pointer, cache lines
};

// A 1x1 expansion (node `expandIndex`) fused into the depthwise convolution
// `index` reading it (passes::fuseExpandDepthwise).
void genExpandDepthwise(LlvmGen &gen, int expandIndex, int index);
// A convolution (node `convIndex`) fused into the max pool `poolIndex`
// reading it (passes::fuseConvMaxPool; NodeGenConvPool.cpp).
void genConvMaxPool(LlvmGen &gen, int convIndex, int poolIndex);
// Image `image`'s input of convolution `index` zero-padded into `xp`
// (seqk_pad2d), its channels split over the threads.
void genPadInput(LlvmGen &gen, int index, const ConvShape &s, llvm::Value *xp, llvm::Value *image);

// Packed convolutions (NodeGenConvPacked.cpp). seqk_conv2d_packed (or its
// lanes form) on one image: input x [C, Hp, Wp], output y, panels and rows
// `range` = {p0, p1, r0, r1}, the cross-layer prefetch slice `xl`;
// rowBase: the image's first epilogue row.
void emitPacked(LlvmGen &gen, llvm::IRBuilder<> &b, const ConvShape &s, const PackedSplit &split,
                std::array<int64_t, 2> HpWp, std::array<llvm::Value *, 3> xwy, std::array<llvm::Value *, 4> range,
                EpilogueEnv &env, std::array<llvm::Value *, 2> xl, llvm::Value *rowBase);
// A packed convolution of `xp` (a forward-side pointer): with `image`,
// that image's zero-padded copy, its tasks split over the threads;
// without, the unpadded input, the tasks of every image split.
void genConvPacked(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, llvm::Value *xp,
                   llvm::Value *image);

// Slot tasks of an image: `tasks` units of work (a compile-time count)
// in min(2 x the context's threads, kConvScratchSlots, tasks) slot tasks,
// slot `slot` taking the contiguous run [slot*tasks/slots,
// (slot+1)*tasks/slots) in a scratch buffer of its own; two a thread, so
// that a thread done early takes over half a share, with few buffers.
llvm::Value *emitSlotCount(LlvmGen &gen, int64_t tasks);
// body(t) for each task t of slot `slot` (task-side i64s; `slots` is the
// task's capture of emitSlotCount's value; `tasks` at most emitSlotCount's).
void emitSlotRun(llvm::IRBuilder<> &b, llvm::Value *slot, llvm::Value *slots, llvm::Value *tasks,
                 llvm::function_ref<void(llvm::Value *)> body);

// Tiles a parallel op aims for: enough to balance 2 to 4 threads.
constexpr int64_t kTasksWanted = 8;
// An Im2col convolution of at least this many groups takes one task per
// group, each its group's im2col and then its GEMM (kTasksWanted: as
// many tasks as the image's tiles would make).
constexpr int64_t kGroupTasksMinGroups = kTasksWanted;
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A pointwise convolution on packed weights (NodeGenConvPointwise.cpp):
// every image's tasks; or, given `sub` (forward-side values: image
// `image`'s input, as a strided pointwise convolution's subsampled copy),
// that image's, reading `sub` and, when given, `weights` rather than the
// packed ones.
void genConvPointwise(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue,
                      llvm::Value *sub = nullptr, llvm::Value *image = nullptr, llvm::Value *weights = nullptr);
// A channel scale (node `mul`) fused into the pointwise convolution
// `index` reading it (passes::fuseChannelScale).
void genConvScaled(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, const ir::Node &mul);

// A 3x3 stride-1 convolution by Winograd's F(2x2, 3x3)
// (ir::ConvAlgorithm::Winograd), image by image.
void genConvWinograd(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue);

// Images [first, last) in runs of at most `group`: body(n, count) for each
// run's first image and length.
void emitImageRuns(llvm::IRBuilder<> &b, llvm::Value *first, llvm::Value *last, int64_t group,
                   llvm::function_ref<void(llvm::Value *, llvm::Value *)> body);

// `count` images from image `n` (task-side i64s) of a padded Packed
// convolution in one kernel call, inside a slot task (its buffer `buf`).
void emitPackedImages(LlvmGen &gen, llvm::IRBuilder<> &b, const ConvShape &s, const ir::Attrs &a,
                      std::array<llvm::Value *, 4> xwyBuf, std::array<llvm::Value *, 2> nCount, int64_t imageStride,
                      EpilogueEnv &env);
// The same from the forward function, its steps split over the threads.
void genPackedImages(LlvmGen &gen, int index, const ConvShape &s, const Epilogue &epilogue, llvm::Value *xp,
                     std::array<llvm::Value *, 2> firstCount, int64_t group);

} // namespace seq::codegen

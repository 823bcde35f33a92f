// ImageParallel: whether a model's forward pass runs image by image.
//
// At batch B > 1 a forward pass that runs each node over the whole batch
// streams B images' activations through memory between every two nodes:
// MobileNetV2's 75 MB per image, 1.2 GB at batch 16, where one image's
// fits in the caches. When every node computes each image from the same
// image only, the forward pass instead runs the whole network on a small
// group of images at a time, each thread on its own groups in its own
// slot of the workspace (no barrier between nodes, every activation in
// cache; codegen/BatchSchedule.cpp), and each group reads every weight
// again. So it does where that costs
// little, in convolutional networks whose weights fit in a core's L2 or
// which do at least kImageParallelMinFlopsPerByte flops per weight byte
// and image, and whose Linear layers take at most
// kImageParallelMaxLinearBytes: image by image, each Linear layer is a
// matrix-vector product per image that streams all its weights, where
// over the batch it is one GEMM reading them once (VGG-11's classifier,
// 495 MB, took a quarter of its time at batch 1; at batch 4 the network
// went 368 -> 285 ms on one thread, 182 -> 148 on two, layer by layer;
// MobileNetV2's and the ResNets' classifiers take 2-8 MB).
#pragma once

#include "ir/Graph.h"

namespace seq::ir {

constexpr int64_t kImageParallelMaxL2Weights = 512 * 1024;
constexpr int64_t kImageParallelMinFlopsPerByte = 8;
constexpr int64_t kImageParallelMaxLinearBytes = int64_t(32) << 20;

// Every value is batched with the batch as its first dim only, and every
// node computes each image of its output from the same image of its
// inputs (no node reduces, slices, concatenates, permutes or normalises
// over dim 0).
bool imagesIndependent(const Graph &g);

// imagesIndependent, mostly convolutions (a network mostly of Linear
// layers runs each as one GEMM over the batch, which reuses every weight
// for all rows), and the weights cheap to read once per image (above).
bool runsImageByImage(const Graph &g);

// Bytes of activations a group of images may take when run image by
// image, on cores of l2Bytes of L2 (the forward function picks the group
// size at run time from the batch, the threads and the machine's L2,
// seqrt_l2_cache_bytes, at most this over the per-image workspace).
// Weights that fit the L2 (kImageParallelMaxL2Weights) stay there next to
// a group sized to the L2 as well: each layer then reads its input from
// the cache its own core just wrote. Bigger weights, read once per group,
// are amortised over a bigger group (kImageGroupBytes), in the last-level
// cache. On a 2 MB L2 (Intel Xeon), one thread, medians: VGG block at
// batch 8 33.7 -> 31.3 ms, MobileNet block at 16 26.6 -> 24.4 ms, LeNet-5
// at 64 1.10 -> 1.03 ms; ResNet64 at 16 (11 MB of weights) 30.8 ms with
// 8 MB groups, 32.4 ms with 2 MB ones. On a 1 MB L2 (AMD EPYC, Zen 4),
// one thread: the VGG block at batch 8 in groups of one image (0.85 MB)
// 28.7 -> 27.4 ms, where groups sized to 2 MB took two (on two threads
// 14.6 -> 14.0 ms); LeNet-5 at 64, 0.715 -> 0.722 ms in two groups of 32.
// The compiler plans memory for kImageGroupL2Bytes (PlanMemory: whether
// images always go one at a time).
constexpr int64_t kImageGroupL2Bytes = 2 << 20;
constexpr int64_t kImageGroupBytes = 8 << 20;
// Whether the weights fit a core's L2 (kImageParallelMaxL2Weights).
bool imageWeightsFitL2(const Graph &g);
int64_t imageGroupBytes(const Graph &g, int64_t l2Bytes = kImageGroupL2Bytes);
// The most images a group takes: imageGroupBytes over the per-image
// workspace, but 1 when one image's activations alone fill the L2: a
// group of them cannot stay near the core, and the weights it would read
// once less come at the price of activations read from the last-level
// cache. At batch 16: MobileNetV2 (2.4 MB an image, 13 MB of weights)
// 2.2% slower in groups of 3, 0.8% in groups of 2; EfficientNet-B0 0.6%
// slower in groups of 2; ResNet-18 (4 MB) the same in groups of 2 or 1
// (+-1.5%). Always 1 once a concat takes its inputs in place
// (Storage::Slice, PlanMemory), which holds for one image at a time only
// (oneImageAlways). The forward function computes the same from the L2
// it runs on (codegen/BatchSchedule.cpp).
int64_t maxImageGroup(const Graph &g, int64_t l2Bytes = kImageGroupL2Bytes);
bool oneImageAlways(const Graph &g);

// Multiply-adds of one image: of Conv2d and ConvTranspose2d, of Linear.
struct ImageMacs {
  int64_t conv = 0, linear = 0;
};
ImageMacs macsPerImage(const Graph &g);
// Those of one node (0 but for Conv2d, ConvTranspose2d and Linear).
int64_t nodeMacsPerImage(const Graph &g, const Node &node);
// Bytes of the Linear layers' weights, of nodes [first, end).
int64_t linearWeightBytes(const Graph &g, size_t first = 0);

} // namespace seq::ir

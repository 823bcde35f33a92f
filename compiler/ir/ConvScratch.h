// ConvScratch: which convolutions need an im2col buffer, and how large.
// One decision shared by the memory planner (which reserves the buffer)
// and the code generator (which chooses the convolution's algorithm).
#pragma once

#include "ir/Graph.h"

namespace seq::ir {

// Bytes of the im2col buffer a Conv2d needs: kIm2colSlots times one
// image's [groups][C/g*KH*KW][OH*OW] floats, each reused image after
// image; 0 when the
// convolution needs none: pointwise (1x1, stride 1, no padding, one group)
// and depthwise ones, and those whose GEMM gathers its input blocks as it
// packs them (seqk_conv2d_gemm): output rows at least kConvImplicitMinWidth
// wide, or an im2col too large to stay in L2 between its two copies. A
// narrow plane with a small im2col (LeNet-5's 10-wide conv) measured faster
// with im2col + seqk_gemm: the gather's runs are short.
// The buffer holds kIm2colSlots images: the batch is split into that many
// runs of images, each a task with its own image's buffer, so that the
// threads convert and multiply different images at once.
int64_t im2colScratchBytes(const Graph &g, const Node &conv);
// One image's share of it (0 when the convolution needs none).
int64_t im2colImageBytes(const Graph &g, const Node &conv);

constexpr int64_t kIm2colSlots = 8;

constexpr int64_t kConvImplicitMinWidth = 16;
constexpr int64_t kConvIm2colCacheBytes = 256 * 1024;

} // namespace seq::ir

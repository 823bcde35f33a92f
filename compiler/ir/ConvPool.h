// ConvPool: a convolution fused into the max pool that reads it
// (passes::fuseConvMaxPool), a network's stem and its pool (ResNet's,
// SqueezeNet's, GoogLeNet's, DenseNet's, ShuffleNet's).
//
// Such a convolution writes the largest tensor of its model (ResNet-50's
// 64 x 112 x 112, 3.2 MB an image), which the pool reads once and
// shrinks by four. Fused, the pair runs in tasks of one band of the
// pool's output rows: each computes the convolution rows its band's
// windows read into a buffer of its own (those it shares with the band
// before, when that one ran in the same buffer, moved to the buffer's
// top rather than computed again), then pools them while they are in L2.
// The convolution's output never goes to memory: no write of 3.2 MB into
// lines the last call evicted, no read of them back.
#pragma once

#include "ir/Graph.h"

#include <cstdint>

namespace seq::ir {

struct ConvPoolPlan {
  int64_t bandRows = 1; // pooled rows a band (the last may have fewer)
  int64_t bands = 1;
  int64_t convRows = 1; // convolution rows a band reads, at most
  // One band's buffer: every output channel's convRows rows.
  int64_t bandFloats = 0;
  // The pool's output rows, the convolution's, and the pool's row
  // stride, top padding and reach (the rows a window spans).
  int64_t poolRows = 1, rows = 1, stride = 1, pad = 0, reach = 1;

  // Band k's pooled rows [r0, r1), the convolution rows [lo, hi) its
  // windows read, and the top padding its first window keeps (lo - its
  // first row, which the image's top padding may put above 0).
  struct Band {
    int64_t r0, r1, lo, hi, pad;
  };
  Band band(int64_t k) const;
  // A slot's buffer, in bytes (bandFloats, whole cache lines).
  int64_t slotBytes() const { return (bandFloats * int64_t(sizeof(float)) + 63) / 64 * 64; }
};

// A band's convolution rows of every channel fit this: a quarter of a
// Zen 5 core's L2, half of a Zen 3's, the rest for the input rows and
// the weights. (384 KB measured the same; the rows two bands share are
// carried, not computed again, so smaller bands cost little.)
constexpr int64_t kConvPoolBandBytes = 256 * 1024;
// Convolutions whose output is smaller (per image) stay apart: that
// output stays in L2 for the pool anyway.
constexpr int64_t kConvPoolMinBytes = 1 << 20;

ConvPoolPlan convPoolPlan(const Graph &g, const Node &pool);
// The convolution fused into a max pool, or null.
const Node *fusedPoolConvolution(const Graph &g, const Node &pool);

} // namespace seq::ir

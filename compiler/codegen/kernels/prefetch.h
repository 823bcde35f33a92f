/* prefetch.h: the convolution kernels' prefetches: the cross-layer one
 * (their xl and xlBytes arguments), and a pointwise tile's stores.
 * Internal to the kernel library; not part of its interface (seqk.h).
 *
 * At batch 1 a layer's weights are read once, and a deep model's do not
 * stay in the caches from one forward call to the next (ResNet-18's 45
 * MB): each layer's first tiles would wait for memory. So while a layer
 * computes, its tasks read the next layer's weights into the caches (the
 * compiler knows which they are: seqk_conv2d_packed's xl): each task a
 * slice, a few lines before each of its tiles, so that the reads spread
 * over the layer's run instead of stalling one tile. A prefetch never
 * faults and changes no result. */
#ifndef SEQK_PREFETCH_H
#define SEQK_PREFETCH_H

#include <stdint.h>

#include "tile.h"
#include "window.h"

#define XL_MAX_LINES_PER_TILE 32

/* The lines of a slice that each of `calls` tile calls prefetches. */
SEQK_INLINE int64_t xlPerCall(int64_t lines, int64_t calls) {
  return seqkMin(XL_MAX_LINES_PER_TILE, (lines + calls - 1) / seqkMax(1, calls));
}

/* Prefetches up to n more of the *left lines from *at into L2. (By
 * count: with nothing to prefetch, *at may be NULL, which takes no
 * offset.) */
SEQK_INLINE void xlPrefetch(const char **at, int64_t *left, int64_t n) {
  for (int64_t l = 0; l < n && *left > 0; ++l, --*left, *at += 64)
    __builtin_prefetch(*at, 0, 2);
}

/* Slice k of n of the lines [xl, xl + lines): its first line and count. */
SEQK_INLINE const char *xlSlice(const char *xl, int64_t lines, int64_t k,
                                int64_t n, int64_t *count) {
  int64_t l0 = lines * k / n, l1 = lines * (k + 1) / n;
  *count = l1 - l0;
  return *count > 0 ? xl + l0 * 64 : xl;
}

/* The lines a pointwise tile will store (see storeTile), owned for
 * writing while the tile computes. Its stores go to 32 channels' planes
 * at once, more streams than the hardware's store prefetching follows,
 * and on 2 threads the lines are often in the other core's cache, read
 * there by a layer split another way, so that each store waited for its
 * line. On 2 threads at batch 1: MobileNetV2 3.39 -> 3.32 ms, the
 * MobileNet block 0.743 -> 0.726 (medians of 7, alternated). Not for
 * the other convolutions: ResNet-18 got no faster. */
SEQK_INLINE void prefetchTileStores(float *restrict yp, int64_t OHW,
                                    int64_t left, int64_t mr, int TW) {
  for (int64_t ch = 0; ch < mr; ++ch) {
    __builtin_prefetch(yp + ch * OHW + left, 1, 3);
    __builtin_prefetch(yp + ch * OHW + left + TW - 1, 1, 3);
  }
}

#endif

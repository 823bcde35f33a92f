/* convpack.h: the packed convolution's call state (PackedConv) and a
 * tile's store (storeTile: the transpose into the output planes, with a
 * fused epilogue), for convpack.c and pointlanes.c. Internal to the
 * kernel library; not part of its interface (seqk.h). */
#ifndef SEQK_CONVPACK_H
#define SEQK_CONVPACK_H

#include <stdint.h>

#include "fused.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define PACK_W 32 /* SEQK_PANEL_WIDTH: output channels per panel */
#define PACK_MAX_POS 14 /* positions per tile: R*TW */

typedef struct {
  const float *x, *w;
  float *y;
  int64_t C, Hp, Wp, KH, KW, SH, DH, DW, OC, OH, OW;
  /* floats between two channels' planes of x and of y, and the column
   * the epilogue numbers y[m][0][0] (0, but for a pointwise convolution
   * computed in runs of positions: the run's first position) */
  int64_t xPlane, yPlane, col0;
  /* floats between the outputs of two panels: 32 planes of y, or 0 when
   * y is one panel's buffer (seqk_conv2d_pointwise_rows) */
  int64_t yPanel;
  /* images computed in one call, and the floats between two images of x
   * and of y: the tiles of several small images share each block of
   * weights while it is in L1 */
  int64_t images, xImage, yImage;
  seqk_epilogue epi;
  const void *env;
  const seqk_fused *fused; /* or NULL: then epi, if any, on the rows */
  /* the next layer's weights this call prefetches (xlPrefetch): xlLines
   * cache lines from xl, spread over its tiles */
  const char *xl;
  int64_t xlLines;
} PackedConv;

/* fusedApply out of line for the lanes tiles and the tiles of other
 * convolutions (fused.h's FusedApplyFn). */
static __attribute__((noinline)) void fusedApplyOutOfLine(
    const seqk_fused *f, seqkVec *v, int n, int per, int64_t m,
    const float *add) {
  fusedApply(f, v, n, per, m, add, f->rowStride);
}

/* A pointwise tile's store with the fused epilogue: its channels [0, mr)
 * at `lanes` (transposed, positions in the lanes), the first output
 * channel m0 with the epilogue's row `row`, the tile's first position its
 * column `col`; stored whole when `whole` (all 16 positions in the run,
 * 16V channels), else its positions [cs, TW) lane by lane. One copy, not
 * inlined into every tile width: in each, a build's kernels took 20% more
 * CPU to compile. (The common case, a clamp on a whole tile, stays in
 * registers in storeTile: through here, the MobileNet block took 4% longer
 * on 1 thread, 7% on 2.) */
static __attribute__((noinline)) void fusedPointStore(
    const PackedConv *a, float lanes[32][16], float *restrict yp, int64_t m0,
    int64_t row, int64_t col, int64_t left, int64_t cs, int64_t mr, int TW,
    int whole) {
  const seqk_fused *f = a->fused;
  const float *add = fusedAddAt(f, row, col);
  float part[32][16] __attribute__((aligned(64)));
  if (add && left + 16 > a->OW) {
    /* the tensor's elements past the run are not read */
    for (int64_t c = 0; c < mr; ++c)
      for (int j = 0; j < 16; ++j)
        part[c][j] = j < TW ? add[c * f->rowStride + j] : 0.0f;
    fusedApply(f, (seqkVec *)lanes[0], (int)mr, 1, m0, part[0], 16);
  } else {
    fusedApply(f, (seqkVec *)lanes[0], (int)mr, 1, m0, add, f->rowStride);
  }
  float *restrict y0 = yp + left;
  if (whole) {
    SEQK_ROLLED
    for (int64_t c = 0; c < mr; ++c)
      *(seqkVecU *)(y0 + c * a->yPlane) = *(seqkVec *)lanes[c];
    return;
  }
  SEQK_ROLLED
  for (int64_t c = 0; c < mr; ++c)
    SEQK_ROLLED
    for (int64_t j = cs; j < TW; ++j)
      y0[c * a->yPlane + j] = lanes[c][j];
}

/* Stores channels [0, mr) of the tile at output (top, left), its rows
 * [rs, re) and columns [cs, TW) (those not stored before), from `acc`
 * (its sums, R*TW positions of V vectors): transposed in registers to one
 * vector of positions per channel, stored whole when the tile's positions
 * are consecutive in the plane (one row, or whole rows) and the 16 from
 * its first end before row `end` (the end of the caller's rows: the
 * positions past the tile's are later tiles', which rewrite them), else
 * lane by lane. (LeNet-5's 10x10 layer at batch 64, rows of 10 copied
 * lane by lane: 15% of its time.) A pointwise tile (PW)
 * with a fused epilogue applies it in registers when it is a clamp and the
 * tile whole, else goes through `lanes` to fusedPointStore (m0: the
 * panel's first output channel, row: its row for the epilogue). */
SEQK_INLINE void storeTile(const PackedConv *a, const seqkVec (*acc)[2],
                           float *restrict yp, int64_t m0, int64_t row,
                           int64_t top, int64_t left, int64_t rs, int64_t re,
                           int64_t end, int64_t cs, int64_t mr, int R, int TW,
                           int V, int PW) {
  const int64_t OHW = a->yPlane, OW = a->OW;
  const int consecutive = R == 1 || (left == 0 && TW == OW);
  int whole = consecutive && top * OW + left + 16 <= end * OW && mr == 16 * V;
  float lanes[32][16] __attribute__((aligned(64)));
  SEQK_ROLLED /* V at run time: one transpose in the code */
  for (int v = 0; v < V; ++v) {
    seqkVec m[16];
    SEQK_UNROLL
    for (int i = 0; i < 16; ++i)
      m[i] = i < R * TW ? acc[i][v] : (seqkVec){0};
    transpose16(m);
    if (!PW && a->fused) /* bias and activation: m[c] is channel 16v + c */
      fusedApplyOutOfLine(a->fused, m, (int)seqkMin(16, mr - 16 * v), 1,
                          m0 + 16 * v, 0);
    if (PW && a->fused) {
      SEQK_UNROLL
      for (int c = 0; c < 16; ++c)
        *(seqkVec *)lanes[16 * v + c] = m[c];
      continue;
    }
    SEQK_UNROLL
    for (int c = 0; c < 16; ++c) {
      if (whole)
        *(seqkVecU *)(yp + (16 * v + c) * OHW + top * OW + left) = m[c];
      else
        *(seqkVec *)lanes[16 * v + c] = m[c];
    }
  }
  float lo, hi;
  if (PW && a->fused && whole && fusedIsClamp(a->fused, &lo, &hi)) {
    /* the common case here: one small rolled loop over the channels */
    const seqk_fused *f = a->fused;
    const float *add = fusedAddAt(f, row, a->col0 + left);
    SEQK_ROLLED
    for (int64_t c = 0; c < mr; ++c) {
      seqkVec x = *(seqkVec *)lanes[c];
      fusedClamp(f, &x, m0 + c, add ? add + c * f->rowStride : 0, lo, hi);
      *(seqkVecU *)(yp + c * OHW + left) = x;
    }
    return;
  }
  if (PW && a->fused) { /* one row: top is 0 */
    fusedPointStore(a, lanes, yp, m0, row, a->col0 + left, left, cs, mr, TW,
                    whole);
    return;
  }
  if (whole)
    return;
  float *restrict y0 = yp + top * OW + left;
  SEQK_ROLLED
  for (int64_t ch = 0; ch < mr; ++ch)
    SEQK_ROLLED
    for (int64_t r = rs; r < re; ++r)
      SEQK_ROLLED
      for (int64_t j = cs; j < TW; ++j)
        y0[ch * OHW + r * OW + j] = lanes[ch][r * TW + j];
}

/* The pointwise convolution with positions in the lanes (pointlanes.c):
 * whether panel p of the run in a takes it, and the panel computed so
 * (one copy a model: KernelLink's sharedKernel). */
int seqk_pointwise_lanes_fits(const PackedConv *a, int64_t p);
__attribute__((noinline)) void seqk_pointwise_lanes(const PackedConv *a,
                                                   int64_t p);

#endif /* SEQK_CONVPACK_H */

/* pointlanes.c: the pointwise convolution (seqk_conv2d_pointwise,
 * convpack.c) with positions in the vector lanes, for few input channels
 * or long runs: seqk_pointwise_lanes_fits decides, panel by panel, and
 * seqk_pointwise_lanes computes a panel. Internal to the kernel library
 * (convpack.h).
 *
 * With few input channels convpack.c's tile (output channels in the
 * lanes) spends as long transposing and
 * storing as computing (C = 16: 16 steps of 28 multiply-adds, then 128
 * shuffles on the port the multiply-adds share; C = 128: 15% of its time).
 * Here the lanes hold positions: a tile is LANE_CH output channels x V
 * vectors of 16 consecutive positions; each step loads V vectors of one
 * input channel's run and broadcasts LANE_CH consecutive weights of the
 * panel's row, so each output channel's positions are stored as they are. A
 * fused epilogue (seqk_fused) is applied to each tile before it is stored; a
 * generated one runs on each channel's stretch of LANE_RUN positions once
 * all its tiles are stored (from L1, its loads matching the stores). Each
 * output still sums its channels in order, one multiply-add each. */
#include <stdint.h>

#include "convpack.h"
#include "fused.h"
#include "prefetch.h"
#include "seqk.h"
#include "tile.h"

#define LANE_CH LANES_CH
/* a block's 48 positions of every channel stay in L1 */
#define LANE_MAX_C SEQK_POINT_LANES_ANY_RUN_MAX_C
/* Up to SEQK_POINT_LANES_MAX_C on runs of SEQK_POINT_LANES_RUN or more
 * (warm, 128 -> 256 on 784 positions: 373 -> 303 us; on 98, 5-10% slower) */
_Static_assert(SEQK_POINT_LANES_BLOCK == 48, "seqk_pointwise_lanes' blocks");
/* Input channels a block of 48 positions takes at a time, its sums kept
 * in the output between blocks (exact: each output still adds its
 * channels in order), so that its inputs and the panel's weights of the
 * block stay in L1 (narrow: 64 channels, 12 + 8 KB; 128 channels
 * overflowed the 32 KB L1 and the kernel went from 95 to 84 GFLOP/s on
 * one Zen 3 core). The wide tile, 3 vectors by 8 channels, keeps all. */
#if SEQK_NARROW
#define LANE_C_BLOCK 64
#else
#define LANE_C_BLOCK (INT64_C(1) << 40)
#endif
#define LANE_RUN 192  /* positions per epilogue call: 32 channels' in 24 KB */
/* A panel whose last vector would hold 8 channels or fewer (24 output
 * channels: 2 vectors of which 1.5 useful) fills the lanes with positions
 * instead, up to this many input channels (48 positions of each: 30 KB),
 * or any on runs of SEQK_POINT_LANES_RUN (240 -> 40 on 784 positions, 128
 * -> 101 us warm; on 49, 960 -> 24 would go 19 -> 22 us) */
#define LANE_PARTIAL_MAX_C SEQK_POINT_LANES_PARTIAL_MAX_C

/* *v, the outputs at positions [at, at + 16) of a row, stored from
 * position `from` on (those before are done), lane by lane then. */
SEQK_INLINE void laneStoreFrom(float *restrict row, const seqkVec *v,
                               int64_t at, int64_t from) {
  if (from <= at) {
    *(seqkVecU *)(row + at) = *v;
    return;
  }
  float lanes[16];
  *(seqkVecU *)lanes = *v;
  for (int64_t e = from - at; e < 16; ++e)
    row[at + e] = lanes[e];
}

#if SEQK_NARROW
/* A narrow lanes tile's group: the sums v[0, n) of output channels
 * m .. m+n-1 (rows yp, yp + yPlane, ...) at positions [at, at + 16) of
 * the run, the fused epilogue if any, stored from position `from` on. */
SEQK_INLINE void laneGroupStore(const PackedConv *a, seqkVec v[4],
                                float *restrict yp, int64_t m, int n,
                                int64_t at, int64_t from) {
  const seqk_fused *f = a->fused;
  if (f) {
    float lo, hi;
    const float *add = fusedAddAt(f, m, a->col0 + at);
    if (fusedIsClamp(f, &lo, &hi)) {
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        if (i < n)
          fusedClamp(f, &v[i], m + i, add ? add + i * f->rowStride : 0, lo,
                     hi);
    } else {
      /* through a copy: the sums stay registers */
      seqkVec t[4];
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        t[i] = v[i];
      fusedApplyOutOfLine(f, t, n, 1, m, add);
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        v[i] = t[i];
    }
  }
  SEQK_UNROLL
  for (int i = 0; i < 4; ++i)
    if (i < n)
      laneStoreFrom(yp + i * a->yPlane, &v[i], at, from);
}
#endif

#if SEQK_NARROW
/* laneTile's block of 48 positions, narrow: 4 channels by 24 positions
 * (12 ymm sums, 3 loads and 4 broadcasts a channel for 12 multiply-adds)
 * at a time, each over channels [c0, c1), its sums kept in the output;
 * after the last channel, the epilogue and store of each vector of 16
 * from there (L1). */
SEQK_INLINE void laneTileWide(const PackedConv *a, const float *restrict wp,
                              float *restrict yp, int64_t m, int64_t nch,
                              int64_t at, int64_t pf, int64_t c0, int64_t c1) {
  const float *restrict x = a->x + at;
  const int64_t yPlane = a->yPlane;
  SEQK_UNROLL
  for (int h = 0; h < LANE_CH; h += 4) {
    if (h >= nch)
      break;
    const int n = (int)seqkMin(4, nch - h);
    SEQK_UNROLL
    for (int half = 0; half < 2; ++half) {
      const int64_t off = at + 24 * half;
      seqkHalf acc[4][3];
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        SEQK_UNROLL
        for (int j = 0; j < 3; ++j)
          acc[i][j] = c0 > 0 && i < n
                          ? *(const seqkHalfU *)(yp + (h + i) * yPlane + off + 8 * j)
                          : (seqkHalf){0};
      const float *restrict xh = x + 24 * half;
      SEQK_NO_UNROLL
      for (int64_t c = c0; c < c1; ++c) {
        if (pf && h == 0 && half == 0)
          __builtin_prefetch(x + c * a->xPlane + pf, 0, 3);
        lanes4x24Step(acc, xh + c * a->xPlane, wp + c * PACK_W + h, 4);
      }
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        if (i < n)
          SEQK_UNROLL
          for (int j = 0; j < 3; ++j)
            *(seqkHalfU *)(yp + (h + i) * yPlane + off + 8 * j) = acc[i][j];
    }
    if (c1 < a->C)
      continue;
    if (!a->fused)
      continue;
    SEQK_UNROLL
    for (int v = 0; v < 3; ++v) {
      seqkVec part[4];
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        part[i] = i < n ? *(const seqkVecU *)(yp + (h + i) * yPlane + at + 16 * v)
                        : (seqkVec){0};
      laneGroupStore(a, part, yp + h * yPlane, m + h, n, at + 16 * v, at + 16 * v);
    }
  }
}
#endif

/* LANE_CH channels of the panel (weights wp, at the first, output
 * channel m) at positions [at, at + 16V) of the run, the first `nch`
 * stored from position `from` on (those before are done: V is 1 then),
 * with the fused epilogue if any; the input `pf` floats ahead prefetched
 * (0: none). */
SEQK_INLINE void laneTile(const PackedConv *a, const float *restrict wp,
                          float *restrict yp, int64_t m, int64_t nch,
                          int64_t at, int64_t from, int64_t pf, int V,
                          int64_t c0, int64_t c1) {
  const float *restrict x = a->x + at;
#if SEQK_NARROW
  if (V == 3) {
    laneTileWide(a, wp, yp, m, nch, at, pf, c0, c1);
    return;
  }
  /* 16 vector registers: 4 channels by one vector of positions at a time
   * (8 ymm accumulators), each over all the input channels, then its
   * epilogue and store. Straight from the registers: kept in a tile on
   * the stack until the end, the sums' stores made the next group's
   * loads wait on them (the kernel 86 -> 97 GFLOP/s on 24 -> 32
   * channels at 784 positions, one Zen 3 core, warm). */
  SEQK_UNROLL
  for (int v = 0; v < V; ++v) {
    SEQK_UNROLL
    for (int h = 0; h < LANE_CH; h += 4) {
      if (h >= nch)
        break;
      const int n = (int)seqkMin(4, nch - h);
      seqkVec part[4] = {{0}};
      if (c0 > 0) /* the sums of the channels before c0, stored */
        SEQK_UNROLL
        for (int i = 0; i < 4; ++i)
          if (i < n)
            part[i] = *(const seqkVecU *)(yp + (h + i) * a->yPlane + at + 16 * v);
      SEQK_NO_UNROLL
      for (int64_t c = c0; c < c1; ++c) {
        if (pf && v == 0 && h == 0)
          __builtin_prefetch(x + c * a->xPlane + pf, 0, 3);
        seqkVec xv = *(const seqkVecU *)(x + c * a->xPlane + 16 * v);
        const float *restrict w = wp + c * PACK_W + h;
        SEQK_UNROLL
        for (int i = 0; i < 4; ++i)
          part[i] = part[i] + w[i] * xv;
      }
      if (c1 < a->C) { /* more channels to come: the sums as they are */
        SEQK_UNROLL
        for (int i = 0; i < 4; ++i)
          if (i < n)
            *(seqkVecU *)(yp + (h + i) * a->yPlane + at + 16 * v) = part[i];
        continue;
      }
      laneGroupStore(a, part, yp + h * a->yPlane, m + h, n, at + 16 * v,
                     from);
    }
  }
#else
  LanesAcc acc;
  (void)c0, (void)c1; /* one block: LANE_C_BLOCK */
  lanesZero(acc, V);
  SEQK_NO_UNROLL
  for (int64_t c = 0; c < a->C; ++c) {
    seqkVec xv[3];
    if (pf)
      __builtin_prefetch(x + c * a->xPlane + pf, 0, 3);
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      xv[v] = *(const seqkVecU *)(x + c * a->xPlane + 16 * v);
    lanesStep(acc, wp + c * PACK_W, xv, V);
  }
  if (a->fused) /* the panel's channels only */
    fusedLanes(a->fused, acc, m, nch, V, fusedAddAt(a->fused, m, a->col0 + at),
               fusedApplyOutOfLine);
  SEQK_UNROLL
  for (int i = 0; i < LANE_CH; ++i) {
    if (i >= nch)
      break;
    if (from > at) { /* V is 1 then */
      laneStoreFrom(yp + i * a->yPlane, &acc[i][0], at, from);
      continue;
    }
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      *(seqkVecU *)(yp + i * a->yPlane + at + 16 * v) = acc[i][v];
  }
#endif
}

/* Panel p on the run of a->OW >= 16 positions, in stretches of LANE_RUN:
 * blocks of 48 positions, then of 16, the last moved left to end with the
 * run (its positions already done recomputed, not stored again), then the
 * epilogue on the stretch of each channel. */
__attribute__((noinline)) void seqk_pointwise_lanes(const PackedConv *a,
                                                   int64_t p) {
  const int64_t n = a->OW, m0 = p * PACK_W, mr = seqkMin(PACK_W, a->OC - m0);
  const float *restrict wp = a->w + p * a->C * PACK_W;
  float *restrict yp = a->y + p * a->yPanel;
  const char *xl = a->xl;
  int64_t xlLeft = a->xlLines;
  const int64_t blocks = (a->C + LANE_C_BLOCK - 1) / LANE_C_BLOCK;
  const int64_t xlEach =
      xlPerCall(a->xlLines, (n / 48 * blocks + 3) * ((mr + LANE_CH - 1) / LANE_CH));
  for (int64_t s0 = 0; s0 < n; s0 += LANE_RUN) {
    int64_t s1 = seqkMin(n, s0 + LANE_RUN), q = s0;
    for (; q + 48 <= s1; q += 48)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t c0 = b * a->C / blocks, c1 = (b + 1) * a->C / blocks;
        for (int64_t g = 0; g < mr; g += LANE_CH) {
          xlPrefetch(&xl, &xlLeft, xlEach);
          laneTile(a, wp + g, yp + g * a->yPlane, m0 + g,
                   seqkMin(LANE_CH, mr - g), q, q,
                   q + 96 <= n ? 48 + g / LANE_CH % 3 * 16 : 0, 3, c0, c1);
        }
      }
    /* the rest, a vector at a time, each over all the channels (the last
     * one moved left overlaps stored outputs: no sums kept there) */
    for (; q < s1; q += 16) {
      int64_t at = seqkMin(q, n - 16);
      for (int64_t g = 0; g < mr; g += LANE_CH)
        laneTile(a, wp + g, yp + g * a->yPlane, m0 + g, seqkMin(LANE_CH, mr - g),
                 at, q, 0, 1, 0, a->C);
    }
    if (a->epi)
      for (int64_t m = 0; m < mr; ++m) {
        float *run = yp + m * a->yPlane + s0;
        a->epi(a->env, m0 + m, a->col0 + s0, run, run, s1 - s0);
      }
  }
}

/* Whether panel p of the run in a takes positions in the lanes: few
 * input channels, a long run of up to SEQK_POINT_LANES_MAX_C, a run of
 * SEQK_POINT_LANES_ANY_C_RUN or more of any, or a panel of 8 or 24
 * channels (LANE_PARTIAL_MAX_C); else convpack.c's tiles of output
 * channels. On the long runs the lanes' tiles win with many input
 * channels too (one thread, warm, ResNeXt-50's 256 -> 512 at 28 x 28 in 2
 * runs: 1.97 -> 1.81 ms; in the model, its 28 x 28 and 56 x 56 layers
 * 3-9% faster), but on 14 x 14 planes they lose (5%: 196 positions are
 * 12 vectors and a quarter). */
int seqk_pointwise_lanes_fits(const PackedConv *a, int64_t p) {
  const int64_t mr = seqkMin(PACK_W, a->OC - p * PACK_W);
  const int partial = mr % 16 != 0 && mr % 16 <= LANE_CH;
  const int longRun = a->OW >= SEQK_POINT_LANES_RUN;
  const int lanes =
      a->C <= LANE_MAX_C || (a->C <= SEQK_POINT_LANES_MAX_C && longRun) ||
      a->OW >= SEQK_POINT_LANES_ANY_C_RUN ||
      (partial && (a->C <= LANE_PARTIAL_MAX_C || longRun));
  return a->OW >= 16 && lanes;
}

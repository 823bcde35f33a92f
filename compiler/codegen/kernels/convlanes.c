/* convlanes.c: the packed convolution (seqk_conv2d_packed) of few taps,
 * with output positions in the vector lanes: a network's stem (3x3 on
 * 3 channels, 27 taps a position) and the like.
 *
 * With few taps, the packed tile (output channels in the lanes, convpack.c)
 * spends as long transposing and storing a tile as multiplying it: 27
 * steps of 28 multiply-adds, then 128 shuffles and 32 stores. Here a tile
 * is LC_CH output channels of the panel by V vectors of 16 consecutive
 * output positions of one row (up to 3: a row of up to 48 positions is
 * one tile): each tap loads V vectors of its input (stride 1: the row in
 * place; stride 2: every other element, from two loads and a shuffle, or
 * one load from a column-phased row)
 * and broadcasts LC_CH consecutive weights of the panel's row, and the
 * sums are each channel's row as it is stored. A
 * row goes in tiles of 16V positions, the last of as many vectors as the
 * row's rest needs, its last vector moved back to end with the row (its
 * first positions computed again, the same values). Each output sums its
 * taps in the order k = (c*KH + kh)*KW + kw, one multiply-add each, as
 * the packed tile does: the same bits. (VGG's 3x3 stem on 3 channels at
 * 224x224: 101 -> 150 GFLOP/s on one core; a 3x3 of stride 2 on 3
 * channels, 82 -> 92.)
 *
 * Its callers (seqk.h): seqk_conv2d_packed_images for few taps; the
 * compiler for those, for one group of a grouped convolution of at most 8
 * channels a group, any taps (rows shorter than a vector at stride 1 on
 * the padded width's grid: laneConvFlat), and for column stride 2 on rows
 * stored column-phased by seqk_pad2d_phased (one load a tap and vector). */
#include "fused.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define LC_CH LANES_CH /* output channels a tile: a broadcast each a tap */
#define LC_PANEL SEQK_PANEL_WIDTH /* output channels a panel */

/* SW is 1, 2, or LC_PHASED: stride 2 on rows stored column-phased (the
 * even columns of a padded row, then its odd ones from We on, by
 * seqk_pad2d_phased), so that a tap's 16 outputs are one load, not two and
 * a shuffle */
#define LC_PHASED SEQK_LANES_PHASED

typedef struct {
  const float *x, *w;
  float *y;
  int64_t C, Wp, We, KH, KW, SH, DH, DW, OC, OH, OW;
  int64_t xPlane, xImage, yImage, images;
  seqk_epilogue epi;
  const void *env;
  const seqk_fused *fused;
} LaneConv;

/* fusedApply out of line (fused.h's FusedApplyFn). */
static __attribute__((noinline)) void laneFusedApply(const seqk_fused *f,
                                                     seqkVec *v, int n, int per,
                                                     int64_t m, const float *add) {
  fusedApply(f, v, n, per, m, add, f->rowStride);
}

/* The sums over every tap of the n <= LC_CH channels whose weights start
 * at wk (LC_PANEL floats between taps) at the tile's vectors v0 ..
 * v0+nv-1 (positions [off[v], off[v] + 16) of the row whose first tap
 * reads x0): acc[i][v], zeroed first. */
SEQK_INLINE void laneConvSums(const LaneConv *a, const float *restrict x0,
                              const float *restrict wk, const int64_t off[3],
                              int v0, int nv, int n, seqkVec (*acc)[3], int SW) {
  lanesZeroN(acc, v0, nv, n);
  for (int64_t c = 0; c < a->C; ++c)
    for (int64_t kh = 0; kh < a->KH; ++kh) {
      const float *restrict row = x0 + c * a->xPlane + kh * a->DH * a->Wp;
      SEQK_NO_UNROLL
      for (int64_t kw = 0; kw < a->KW; ++kw, wk += LC_PANEL) {
        const int64_t t = kw * a->DW; /* the tap's column */
        const float *restrict xk =
            SW == LC_PHASED ? row + (t & 1) * a->We + (t >> 1) : row + t;
        seqkVec xv[3];
        SEQK_UNROLL
        for (int v = v0; v < v0 + nv; ++v) {
          if (SW == 1 || SW == LC_PHASED) {
            xv[v] = *(const seqkVecU *)(xk + off[v]);
          } else {
            seqkEvenOf31(xk + 2 * off[v], &xv[v]);
          }
        }
        lanesStepN(acc, wk, xv, v0, nv, n);
      }
    }
}

#if SEQK_NARROW
/* Narrow, 48 consecutive positions from `at` (a tile of 3 vectors, none
 * moved back), rows read in place (stride 1 or column-phased): 4 channels
 * by 24 positions at a time (12 ymm sums: 3 loads and 4 broadcasts a tap
 * for 12 multiply-adds, where a vector of 16 took 2 and 4 for 8), each
 * over all the taps, the sums stored at y0 for the channels below nch. */
SEQK_INLINE void laneConvSums24(const LaneConv *a, const float *restrict x0,
                                const float *restrict wp, float *restrict y0,
                                int64_t yPlane, int64_t nch, int64_t at,
                                int SW, int N) {
  SEQK_UNROLL
  for (int h = 0; h < N; h += 4) {
    const int n = seqkMin(4, N - h);
    SEQK_UNROLL
    for (int half = 0; half < 2; ++half) {
      const int64_t o = at + 24 * half;
      seqkHalf acc[4][3];
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        SEQK_UNROLL
        for (int j = 0; j < 3; ++j)
          acc[i][j] = (seqkHalf){0};
      const float *restrict wk = wp + h;
      for (int64_t c = 0; c < a->C; ++c)
        for (int64_t kh = 0; kh < a->KH; ++kh) {
          const float *restrict row = x0 + c * a->xPlane + kh * a->DH * a->Wp + o;
          SEQK_NO_UNROLL
          for (int64_t kw = 0; kw < a->KW; ++kw, wk += LC_PANEL) {
            const int64_t t = kw * a->DW;
            const float *restrict xk =
                SW == LC_PHASED ? row + (t & 1) * a->We + (t >> 1) : row + t;
            lanes4x24Step(acc, xk, wk, n);
          }
        }
      SEQK_UNROLL
      for (int i = 0; i < 4; ++i)
        if (i < n && h + i < nch)
          SEQK_UNROLL
          for (int j = 0; j < 3; ++j)
            *(seqkHalfU *)(y0 + (h + i) * yPlane + o + 8 * j) = acc[i][j];
    }
  }
}
#endif

/* Channels [0, nch) (nch <= N <= LC_CH) of the panel's tile at output
 * positions [off[v], off[v] + 16) of its V vectors (a row's last vectors
 * moved back to end with it may overlap the others: the same values
 * computed and stored twice) of the row whose first tap reads x0 (at
 * position 0), weights wp (the
 * panel's, at its first channel, output channel m), stored at y0 (yPlane
 * floats between channels) through the register form of the epilogue if
 * any; N channels computed (a constant: a panel's last few channels take
 * no multiply-adds for the channels past them). */
SEQK_INLINE void laneConvTile(const LaneConv *a, const float *restrict x0,
                              const float *restrict wp, float *restrict y0,
                              int64_t yPlane, int64_t m, int64_t nch, int V,
                              int SW, int N, const int64_t off[3]) {
  LanesAcc acc;
#if SEQK_NARROW
  if (V == 3 && SW != 2 && off[1] == off[0] + 16 && off[2] == off[0] + 32) {
    laneConvSums24(a, x0, wp, y0, yPlane, nch, off[0], SW, N);
    if (!a->fused)
      return;
    /* the sums back for the epilogue (from L1) */
    SEQK_UNROLL
    for (int i = 0; i < LC_CH; ++i) {
      if (i >= nch)
        break;
      SEQK_UNROLL
      for (int v = 0; v < 3; ++v)
        acc[i][v] = *(const seqkVecU *)(y0 + i * yPlane + off[v]);
    }
    goto epilogue;
  }
  /* 16 vector registers: 4 channels by one vector at a time (8 ymm
   * accumulators), each over all the taps (as pointlanes.c's laneTile) */
  SEQK_UNROLL
  for (int v = 0; v < V; ++v) {
    SEQK_UNROLL
    for (int h = 0; h < N; h += 4) {
      laneConvSums(a, x0, wp + h, off, v, 1, seqkMin(4, N - h), acc + h, SW);
      __asm__ volatile("" : : "r"(acc) : "memory"); /* see laneTile */
    }
  }
#else
  laneConvSums(a, x0, wp, off, 0, V, N, acc, SW);
#endif
#if SEQK_NARROW
epilogue:
#endif
  /* Tanh (LeNet's convolutions of few taps) unrolled in registers: each
   * vector's tanh is one long chain of dependent steps, and a rolled loop
   * over a copy (fusedLanes' other activations) kept too few of them in
   * flight: LeNet-5 at batch 64, 0.903 -> 0.860 ms, its kernels 0.47 ->
   * 0.53 s to build (the other curves stay rolled: no model here needs
   * them on this kernel) */
  if (a->fused && a->fused->act == SEQK_ACT_TANH) {
    SEQK_UNROLL
    for (int i = 0; i < LC_CH; ++i) {
      if (i >= nch)
        break;
      SEQK_UNROLL
      for (int v = 0; v < V; ++v) {
        if (a->fused->bias)
          acc[i][v] = acc[i][v] + a->fused->bias[m + i];
        fusedTanh(&acc[i][v]);
      }
    }
  } else if (a->fused)
    fusedLanes(a->fused, acc, m, nch, V, 0, laneFusedApply);
  SEQK_UNROLL
  for (int i = 0; i < LC_CH; ++i) {
    if (i >= nch)
      break;
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      *(seqkVecU *)(y0 + i * yPlane + off[v]) = acc[i][v];
  }
}

/* The tiles of one row of LC_CH channels (N of them computed) from
 * position 0 (x0, y0): tiles of V vectors of 16 positions, the last tile
 * of as many vectors as the rest of the row needs, its last vector moved
 * back to end with the row. (A row of 17 to 32 positions is one tile of
 * 2 vectors, not 2 tiles of one: LeNet-5's 28-position rows of 6
 * channels took 6 accumulators a tile, each tap's multiply-add waiting
 * on the last.) V is a constant: the tiles of fewer vectors compiled only
 * where the rest can need them. */
SEQK_INLINE void laneConvRow(const LaneConv *a, const float *restrict x0,
                             const float *restrict wp, float *restrict y0,
                             int64_t yPlane, int64_t m, int64_t nch, int V,
                             int SW, int N) {
  const int64_t OW = a->OW;
  for (int64_t q = 0; q < OW; q += 16 * V) {
    const int64_t rest = OW - q;
    int64_t off[3];
    SEQK_UNROLL
    for (int v = 0; v < 3; ++v)
      off[v] = seqkMin(q + 16 * v, OW - 16) - q;
    const float *restrict xq = x0 + q * (SW == LC_PHASED ? 1 : SW);
    float *restrict yq = y0 + q;
    /* each tile kernel inlined once: V vectors (a whole tile, or a rest
     * that needs all V), then 2 (V = 3 only), then 1 */
    if (rest > 16 * (V - 1))
      laneConvTile(a, xq, wp, yq, yPlane, m, nch, V, SW, N, off);
    else if (V == 3 && rest > 16)
      laneConvTile(a, xq, wp, yq, yPlane, m, nch, 2, SW, N, off);
    else
      laneConvTile(a, xq, wp, yq, yPlane, m, nch, 1, SW, N, off);
  }
}

/* Output rows [r0, r1) of panel p in each image: each row in tiles of
 * LC_CH channels (laneConvRow), then the epilogue on the row of each of
 * the panel's channels (still in L1). A tile of fewer channels (the last
 * of OC, LAST = OC % LC_CH of them) computes only those (LeNet-5's 6). */
SEQK_INLINE void laneConvRows(const LaneConv *a, int64_t p, int64_t r0,
                              int64_t r1, int V, int SW, int LAST) {
  const int64_t K = a->C * a->KH * a->KW, OW = a->OW, OHW = a->OH * OW;
  const int64_t m0 = p * LC_PANEL, mr = seqkMin(LC_PANEL, a->OC - m0);
  const float *restrict wp = a->w + p * K * LC_PANEL;
  for (int64_t n = 0; n < a->images; ++n)
    for (int64_t oh = r0; oh < r1; ++oh) {
      const float *restrict xr = a->x + n * a->xImage + oh * a->SH * a->Wp;
      float *restrict yr = a->y + n * a->yImage + m0 * OHW + oh * OW;
      for (int64_t g = 0; g < mr; g += LC_CH) {
        const int64_t nch = seqkMin(LC_CH, mr - g);
        if (nch < LC_CH && LAST) /* the last tile of the last panel */
          laneConvRow(a, xr, wp + g, yr + g * OHW, OHW, m0 + g, nch, V, SW, LAST);
        else
          laneConvRow(a, xr, wp + g, yr + g * OHW, OHW, m0 + g, nch, V, SW, LC_CH);
      }
      if (a->epi)
        for (int64_t m = 0; m < mr; ++m)
          a->epi(a->env, n * a->OC + m0 + m, oh * OW, yr + m * OHW,
                 yr + m * OHW, OW);
    }
}

/* Rows shorter than a vector, stride 1 (a group's convolution at 14 x 14
 * or 7 x 7): the outputs on the grid of the padded input's width, grid
 * position q = oh * Wp + ow reading tap (c, kh, kw) at c's plane + q +
 * kh*DH*Wp + kw*DW, so that 16 consecutive positions are one load however
 * many rows they cross. Output rows [r0, r1) of panel p, in blocks of rows
 * whose grid fits LANE_FLAT floats: each block's vectors (the last moved
 * back to end with it, or, for a block of fewer than 16 positions, one
 * vector from where the plane allows) through laneConvTile into a buffer
 * of the block's grid, LC_CH channels at a time, then each row's OW
 * outputs copied out (the Wp - OW past each row's end are dropped), then
 * the epilogue on the block's rows of each channel. Needs a grid of 16
 * positions or more: (OH - 1) * Wp + OW >= 16. */
#define LANE_FLAT 256
SEQK_INLINE void laneConvFlat(const LaneConv *a, int64_t p, int64_t r0,
                              int64_t r1, int LAST) {
  const int64_t K = a->C * a->KH * a->KW, OW = a->OW, Wp = a->Wp;
  const int64_t OHW = a->OH * OW, end = (a->OH - 1) * Wp + OW;
  const int64_t m0 = p * LC_PANEL, mr = seqkMin(LC_PANEL, a->OC - m0);
  const float *restrict wp = a->w + p * K * LC_PANEL;
  const int64_t blockRows = (LANE_FLAT - 16 - OW) / Wp + 1;
  float buf[LC_CH][LANE_FLAT] __attribute__((aligned(64)));
  for (int64_t n = 0; n < a->images; ++n) {
    const float *restrict xn = a->x + n * a->xImage;
    float *restrict yn = a->y + n * a->yImage + m0 * OHW;
    for (int64_t oh0 = r0; oh0 < r1; oh0 += blockRows) {
      const int64_t oh1 = seqkMin(r1, oh0 + blockRows);
      const int64_t q0 = oh0 * Wp, qe = (oh1 - 1) * Wp + OW;
      const int64_t s = seqkMin(q0, end - 16); /* buf[.][0]'s position */
      for (int64_t g = 0; g < mr; g += LC_CH) {
        const int64_t nch = seqkMin(LC_CH, mr - g);
        for (int64_t v = q0; v < qe; v += 16) {
          const int64_t off[3] = {seqkMax(s, seqkMin(v, qe - 16)) - s, 0, 0};
          if (nch < LC_CH && LAST)
            laneConvTile(a, xn + s, wp + g, buf[0], LANE_FLAT, m0 + g, nch, 1,
                         1, LAST, off);
          else
            laneConvTile(a, xn + s, wp + g, buf[0], LANE_FLAT, m0 + g, nch, 1,
                         1, LC_CH, off);
        }
        for (int64_t i = 0; i < nch; ++i)
          for (int64_t oh = oh0; oh < oh1; ++oh)
            __builtin_memcpy(yn + (g + i) * OHW + oh * OW,
                             buf[i] + (oh * Wp - s), OW * sizeof(float));
      }
      if (a->epi)
        for (int64_t m = 0; m < mr; ++m) {
          float *run = yn + m * OHW + oh0 * OW;
          a->epi(a->env, n * a->OC + m0 + m, oh0 * OW, run, run,
                 (oh1 - oh0) * OW);
        }
    }
  }
}
#define LANE_FLAT_FN(LAST)                                                   \
  static __attribute__((noinline)) void laneFlat_##LAST(                     \
      const LaneConv *a, int64_t p, int64_t r0, int64_t r1) {                \
    laneConvFlat(a, p, r0, r1, LAST);                                        \
  }
LANE_FLAT_FN(0)
LANE_FLAT_FN(1)
LANE_FLAT_FN(2)
LANE_FLAT_FN(4)

/* One function per (V, SW, LAST), never inlined: compiled once for
 * every convolution of a model that takes this path (LAST = OC % LC_CH,
 * a constant where OC is: the other variants are not compiled). */
#define LANE_CONV(V, SW, LAST)                                               \
  static __attribute__((noinline)) void laneConv_##V##_##SW##_##LAST(        \
      const LaneConv *a, int64_t p, int64_t r0, int64_t r1) {                \
    laneConvRows(a, p, r0, r1, V, SW, LAST);                                 \
  }
#define LANE_CONV_LAST(V, SW)                                                \
  LANE_CONV(V, SW, 0) LANE_CONV(V, SW, 1) LANE_CONV(V, SW, 2)                \
  LANE_CONV(V, SW, 3) LANE_CONV(V, SW, 4) LANE_CONV(V, SW, 5)                \
  LANE_CONV(V, SW, 6) LANE_CONV(V, SW, 7)
LANE_CONV_LAST(1, 1)
LANE_CONV_LAST(2, 1)
LANE_CONV_LAST(3, 1)
LANE_CONV_LAST(1, 2)
LANE_CONV_LAST(2, 2)
LANE_CONV_LAST(3, 2)
LANE_CONV_LAST(1, 3)
LANE_CONV_LAST(2, 3)
LANE_CONV_LAST(3, 3)
_Static_assert(LC_PHASED == 3, "the phased variants' SW");
_Static_assert(LC_CH == 8, "a variant for each LAST below LC_CH");

typedef void (*LaneConvFn)(const LaneConv *a, int64_t p, int64_t r0,
                           int64_t r1);
#define LANE_CONV_CASE(V, SW, LAST)                                          \
  case LAST:                                                                 \
    return laneConv_##V##_##SW##_##LAST;
#define LANE_CONV_SWITCH(V, SW)                                              \
  switch (last) {                                                            \
    LANE_CONV_CASE(V, SW, 0) LANE_CONV_CASE(V, SW, 1)                        \
    LANE_CONV_CASE(V, SW, 2) LANE_CONV_CASE(V, SW, 3)                        \
    LANE_CONV_CASE(V, SW, 4) LANE_CONV_CASE(V, SW, 5)                        \
    LANE_CONV_CASE(V, SW, 6) LANE_CONV_CASE(V, SW, 7)                        \
  }                                                                          \
  break;

/* The variant of (V, SW, OC % LC_CH). */
SEQK_INLINE LaneConvFn laneConvOf(int V, int64_t SW, int64_t OC) {
  const int last = (int)(OC % LC_CH);
  if (SW == 1) {
    switch (V) {
    case 1: LANE_CONV_SWITCH(1, 1)
    case 2: LANE_CONV_SWITCH(2, 1)
    default: LANE_CONV_SWITCH(3, 1)
    }
  } else if (SW == 2) {
    switch (V) {
    case 1: LANE_CONV_SWITCH(1, 2)
    case 2: LANE_CONV_SWITCH(2, 2)
    default: LANE_CONV_SWITCH(3, 2)
    }
  } else {
    switch (V) {
    case 1: LANE_CONV_SWITCH(1, 3)
    case 2: LANE_CONV_SWITCH(2, 3)
    default: LANE_CONV_SWITCH(3, 3)
    }
  }
  return 0;
}

/* The flat variant of OC (a group's 1, 2, 4 or 8 channels) on rows
 * shorter than a vector at stride 1, else the row variant of (V, SW,
 * OC % LC_CH), SW LC_PHASED on column-phased rows; 0 where neither
 * applies. */
int seqk_conv2d_packed_lanes(const float *x, int64_t xImage, const float *w,
                             float *y, int64_t yImage, int64_t images,
                             int64_t C, int64_t Hp, int64_t Wp, int64_t KH,
                             int64_t KW, int64_t SH, int64_t SW, int64_t DH,
                             int64_t DW, int64_t OC, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1, int64_t r0, int64_t r1,
                             seqk_epilogue epi, const void *env,
                             const seqk_fused *fused) {
  const int flat = OW < 16 && SH == 1 && SW == 1 &&
                   (OH - 1) * Wp + OW >= 16 && (OC == 8 || OC == 4 ||
                                                OC == 2 || OC == 1);
  if ((OW < 16 && !flat) || (SW != 1 && SW != 2 && SW != LC_PHASED))
    return 0;
  LaneConv a = {.x = x, .w = w, .y = y, .C = C, .Wp = Wp,
                .We = SW == LC_PHASED ? (Wp + 1) / 2 : 0, .KH = KH, .KW = KW,
                .SH = SH, .DH = DH, .DW = DW, .OC = OC, .OH = OH, .OW = OW,
                .xPlane = Hp * Wp, .xImage = xImage, .yImage = yImage,
                .images = images, .epi = epi, .env = env, .fused = fused};
  const LaneConvFn conv =
      flat ? (OC == 8   ? laneFlat_0
              : OC == 4 ? laneFlat_4
              : OC == 2 ? laneFlat_2
                        : laneFlat_1)
           : laneConvOf(OW > 32 ? 3 : OW > 16 ? 2 : 1, SW, OC);
  for (int64_t p = p0; p < p1; ++p)
    conv(&a, p, r0, r1);
  return 1;
}


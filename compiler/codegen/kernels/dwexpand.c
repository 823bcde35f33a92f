/* dwexpand.c: a 1x1 expansion convolution fused into the depthwise
 * convolution that reads it (the inverted residuals of MobileNetV2 and
 * EfficientNet), with 16 channels in the vector lanes throughout; or, in
 * its place, any convolution of one group (a network's stem: a 3x3 of
 * stride 2 on the padded image, seqk_conv_depthwise_lanes).
 *
 * A task is one panel of 32 expanded channels and one band of the
 * depthwise convolution's output rows. It first computes the expanded
 * rows the band reads into `work`, as the packed convolution's tile
 * computes them (14 positions x 32 channels, output channels in the
 * lanes, each input element broadcast), but stores each position's 16
 * channels as they are, with the expansion's epilogue applied in
 * registers: the band is [row][column][16 channels] per half-panel,
 * zero-padded around the image as the convolution pads.
 * Then each output row of the band, 16 positions at a time: every tap is
 * one weight vector (16 channels) times one aligned input vector,
 * whatever the stride, so no per-channel copy, phase split or stride-2
 * deinterleave is needed (seqk_depthwise2d_phased_rows spent a quarter of
 * a 112 x 112 stride-2 task there). The depthwise epilogue is applied in
 * registers too (or, when it has no register form, called on each
 * finished row), then the block is transposed into the channels' planes.
 *
 * Every output sums its taps as the other kernels do: the expansion's
 * channels in order, then the depthwise taps in (kh, kw) order from 0,
 * padding taps adding w * 0, one multiply-add each; the epilogues are
 * fused.h's, so the outputs are the bits of the unfused kernels.
 *
 * The work functions take their shapes at run time (only the tile width,
 * the half-panels and the column stride are constants): compiled once,
 * in the pool, for every fused pair of every model. */
#include "fused.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define DWX_TW 14   /* expansion tile: consecutive positions of a row */
#define DWX_COLS 16 /* depthwise block: output positions of a row */
#define DWX_LANES 16

#define DWX_MAX_TAPS 64 /* of the producing convolution */

typedef struct {
  const float *x, *we, *w;
  float *y, *band, *taps;
  int64_t eC, C, H, W, KH, KW, SH, SW, top, left, DH, DW, OH, OW;
  /* the producing convolution: floats between its input's channel
   * planes, from one output row's inputs to the next's, and its taps
   * (offsets from tap 0's input) */
  int64_t xPlane, xRow, eTaps;
  int64_t eOffset[DWX_MAX_TAPS];
  int64_t m0, nch;    /* the panel's first channel, its channels (<= 32) */
  int64_t oh0, oh1;   /* the band's output rows */
  int64_t rows, Wb;   /* the band's padded rows and columns */
  const seqk_fused *expand, *fused;
  seqk_epilogue epi;
  const void *env;
  /* the epilogues' biases for the panel's channels, 0 past the last */
  float ebias[32] __attribute__((aligned(64)));
  float dbias[32] __attribute__((aligned(64)));
} Dwx;

/* Padded rows and columns of a band of `bandRows` output rows: the rows
 * it reads, and the columns it reads or the expansion writes (a block
 * of 16 outputs reads 16 columns' worth even when the row is shorter). */
SEQK_INLINE int64_t dwxRows(int64_t bandRows, int64_t KH, int64_t SH,
                            int64_t DH) {
  return (bandRows - 1) * SH + (KH - 1) * DH + 1;
}
SEQK_INLINE int64_t dwxColumns(int64_t KW, int64_t SW, int64_t DW,
                               int64_t left, int64_t W, int64_t OW) {
  int64_t reach = (seqkMax(OW, DWX_COLS) - 1) * SW + (KW - 1) * DW + 1;
  return seqkMax(reach, left + W);
}

int64_t seqk_expand_depthwise_lanes_work(int64_t KH, int64_t KW, int64_t SH,
                                         int64_t SW, int64_t DH, int64_t DW,
                                         int64_t left, int64_t W, int64_t OW,
                                         int64_t bandRows) {
  return 2 * dwxRows(bandRows, KH, SH, DH) *
             dwxColumns(KW, SW, DW, left, W, OW) * DWX_LANES +
         KH * KW * 2 * DWX_LANES;
}

/* The producing convolution's outputs at DWX_TW positions of its output
 * row ih from column iw on (its input at x + ih*xRow + iw*ES), V
 * half-panels, stored at out[h] + j * 16 (band columns). PW: a 1x1
 * convolution of stride 1 (ES 1, one tap), known here so that the tap
 * loop vanishes. Each output sums its taps in the packed convolution's
 * order, k = (c*KH + kh)*KW + kw (the weights' rows). */
SEQK_INLINE void dwxExpandTile(const Dwx *a, int64_t ih, int64_t iw,
                               float *restrict out0, float *restrict out1,
                               int V, int ES, int PW) {
  const int64_t plane = a->xPlane, taps = PW ? 1 : a->eTaps;
  const float *restrict xq = a->x + ih * a->xRow + iw * ES;
  const float *restrict wk = a->we + a->m0 * a->eC * taps;
#if SEQK_NARROW
  /* 16 vector registers: each half-panel in turn, the tile's positions in
   * groups of at most NARROW_ACC (4, 5, 5), each over all the taps */
  enum { GROUPS = (DWX_TW + NARROW_ACC - 1) / NARROW_ACC };
  SEQK_UNROLL
  for (int v = 0; v < V; ++v) {
    SEQK_UNROLL
    for (int g = 0; g < GROUPS; ++g) {
      const int g0 = g * DWX_TW / GROUPS, n = (g + 1) * DWX_TW / GROUPS - g0;
      seqkVec acc[NARROW_ACC];
      SEQK_UNROLL
      for (int i = 0; i < NARROW_ACC; ++i)
        acc[i] = (seqkVec){0};
      const float *restrict wv = wk + 16 * v;
      SEQK_NO_UNROLL
      for (int64_t c = 0; c < a->eC; ++c) {
        if (PW && v == 0 && g == 0)
          __builtin_prefetch(xq + c * plane + 2 * DWX_TW, 0, 3);
        SEQK_NO_UNROLL
        for (int64_t t = 0; t < taps; ++t, wv += 32) {
          const float *restrict xk = xq + c * plane + (PW ? 0 : a->eOffset[t]);
          seqkVec w = *(const seqkVecU *)wv;
          SEQK_UNROLL
          for (int i = 0; i < NARROW_ACC; ++i)
            if (i < n)
              acc[i] = acc[i] + xk[(g0 + i) * ES] * w;
        }
      }
      /* the group's epilogue and store straight from the registers (see
       * pointlanes.c's laneTile) */
      fusedChannelLanes(a->expand, acc, n, a->ebias + 16 * v, 0);
      float *restrict out = v == 0 ? out0 : out1;
      SEQK_UNROLL
      for (int i = 0; i < NARROW_ACC; ++i)
        if (i < n)
          *(seqkVec *)(out + (g0 + i) * DWX_LANES) = acc[i];
    }
  }
#else
  seqkVec acc[DWX_TW][2];
  SEQK_UNROLL
  for (int j = 0; j < DWX_TW; ++j) {
    acc[j][0] = (seqkVec){0};
    acc[j][1] = (seqkVec){0};
  }
  SEQK_NO_UNROLL
  for (int64_t c = 0; c < a->eC; ++c) {
    /* a stream per input channel: the next tiles' lines, into L1 */
    if (PW)
      __builtin_prefetch(xq + c * plane + 2 * DWX_TW, 0, 3);
    SEQK_NO_UNROLL
    for (int64_t t = 0; t < taps; ++t, wk += 32) {
      const float *restrict xk = xq + c * plane + (PW ? 0 : a->eOffset[t]);
      seqkVec w0 = *(const seqkVecU *)wk, w1 = w0;
      if (V == 2)
        w1 = *(const seqkVecU *)(wk + 16);
      SEQK_UNROLL
      for (int j = 0; j < DWX_TW; ++j) {
        float s = xk[j * ES];
        acc[j][0] = acc[j][0] + s * w0;
        if (V == 2)
          acc[j][1] = acc[j][1] + s * w1;
      }
    }
  }
  seqkVec h0[DWX_TW], h1[DWX_TW];
  SEQK_UNROLL
  for (int j = 0; j < DWX_TW; ++j)
    h0[j] = acc[j][0], h1[j] = acc[j][1];
  fusedChannelLanes(a->expand, h0, DWX_TW, a->ebias, 0);
  SEQK_UNROLL
  for (int j = 0; j < DWX_TW; ++j)
    *(seqkVec *)(out0 + j * DWX_LANES) = h0[j];
  if (V == 2) {
    fusedChannelLanes(a->expand, h1, DWX_TW, a->ebias + 16, 0);
    SEQK_UNROLL
    for (int j = 0; j < DWX_TW; ++j)
      *(seqkVec *)(out1 + j * DWX_LANES) = h1[j];
  }
#endif
}

/* Band row r (padded): the expansion of its input row, or zeros. */
SEQK_INLINE void dwxExpandRow(const Dwx *a, int64_t r, int V, int ES,
                              int PW) {
  const int64_t plane = a->rows * a->Wb * DWX_LANES;
  float *restrict row0 = a->band + r * a->Wb * DWX_LANES;
  float *restrict row1 = row0 + plane;
  const int64_t ih = a->oh0 * a->SH + r - a->top;
  if (ih < 0 || ih >= a->H) {
    for (int64_t q = 0; q < a->Wb; ++q) {
      *(seqkVec *)(row0 + q * DWX_LANES) = (seqkVec){0};
      if (V == 2)
        *(seqkVec *)(row1 + q * DWX_LANES) = (seqkVec){0};
    }
    return;
  }
  for (int64_t q = 0; q < a->Wb; ++q) {
    if (q == a->left)
      q = a->left + a->W; /* the columns the expansion writes */
    if (q >= a->Wb)
      break;
    *(seqkVec *)(row0 + q * DWX_LANES) = (seqkVec){0};
    if (V == 2)
      *(seqkVec *)(row1 + q * DWX_LANES) = (seqkVec){0};
  }
  /* tiles of DWX_TW positions, the last moved left to end with the row
   * (its first positions computed again, the same values) */
  for (int64_t t0 = 0; t0 < a->W; t0 += DWX_TW) {
    const int64_t iw = seqkMin(t0, a->W - DWX_TW);
    const int64_t col = (a->left + iw) * DWX_LANES;
    dwxExpandTile(a, ih, iw, row0 + col, row1 + col, V, ES, PW);
  }
}

/* One function per (V, producer stride, 1x1 or not), never inlined. */
#define DWX_EXPAND(V, ES, PW)                                                \
  static __attribute__((noinline)) void dwxExpand_##V##_##ES##_##PW(         \
      const Dwx *a) {                                                        \
    for (int64_t r = 0; r < a->rows; ++r)                                    \
      dwxExpandRow(a, r, V, ES, PW);                                         \
  }
DWX_EXPAND(1, 1, 1)
DWX_EXPAND(2, 1, 1)
DWX_EXPAND(1, 1, 0)
DWX_EXPAND(2, 1, 0)
DWX_EXPAND(1, 2, 0)
DWX_EXPAND(2, 2, 0)

SEQK_INLINE void dwxExpand(const Dwx *a, int64_t ES) {
  const int V2 = a->nch > 16, PW = a->eTaps == 1 && ES == 1;
  if (PW)
    (V2 ? dwxExpand_2_1_1 : dwxExpand_1_1_1)(a);
  else if (ES == 1)
    (V2 ? dwxExpand_2_1_0 : dwxExpand_1_1_0)(a);
  else
    (V2 ? dwxExpand_2_2_0 : dwxExpand_1_2_0)(a);
}

/* Output row oh of half-panel h (channels m0 + 16h + [0, nc)): blocks of
 * 16 positions, the last moved left to end with the row (its first
 * positions stored twice, the same values), or one block of the row's OW
 * < 16 positions whose vectors, stored whole, run into the next rows
 * (rewritten after) where the band has 16 positions left, else lane by
 * lane (never into the next band: another task's, maybe another thread's). */
SEQK_INLINE void dwxDepthwiseRow(const Dwx *a, int64_t h, int64_t nc,
                                 int64_t oh, int SW) {
  const float *restrict band =
      a->band + h * a->rows * a->Wb * DWX_LANES;
  const float *restrict wt = a->taps + h * a->KH * a->KW * DWX_LANES;
  const int64_t OW = a->OW, OHW = a->OH * OW, Wb = a->Wb;
  const int64_t r0 = (oh - a->oh0) * a->SH;
  float *restrict yh = a->y + (a->m0 + 16 * h) * OHW + oh * OW;
  for (int64_t ow0 = 0;; ow0 += DWX_COLS) {
    const int64_t at = OW >= DWX_COLS ? seqkMin(ow0, OW - DWX_COLS) : 0;
    seqkVec acc[DWX_COLS];
    /* all 16 columns at once, or with 16 vector registers in groups of at
     * most NARROW_ACC (5, 5, 6), each over all the taps */
    enum { GROUPS = SEQK_NARROW ? (DWX_COLS + NARROW_ACC - 1) / NARROW_ACC : 1 };
    SEQK_UNROLL
    for (int g = 0; g < GROUPS; ++g) {
      const int j0 = g * DWX_COLS / GROUPS, j1 = (g + 1) * DWX_COLS / GROUPS;
      /* the group's sums in `part`, whose address never escapes: in acc
       * itself (an asm operand below, and the transpose's), LLVM kept them
       * in memory, a load and a store around every multiply-add */
      seqkVec part[DWX_COLS];
      SEQK_UNROLL
      for (int j = j0; j < j1; ++j)
        part[j - j0] = (seqkVec){0};
      for (int64_t kh = 0; kh < a->KH; ++kh) {
        const float *restrict row =
            band + ((r0 + kh * a->DH) * Wb + at * SW) * DWX_LANES;
        for (int64_t kw = 0; kw < a->KW; ++kw) {
          const seqkVec wv = *(const seqkVec *)(wt + (kh * a->KW + kw) * DWX_LANES);
          const float *restrict in = row + kw * a->DW * DWX_LANES;
          SEQK_UNROLL
          for (int j = j0; j < j1; ++j)
            part[j - j0] = part[j - j0] + *(const seqkVec *)(in + j * SW * DWX_LANES) * wv;
        }
      }
      SEQK_UNROLL
      for (int j = j0; j < j1; ++j)
        acc[j] = part[j - j0];
      if (GROUPS > 1) /* finished sums to memory (see pointlanes.c's laneTile) */
        __asm__ volatile("" : : "r"(acc) : "memory");
    }
    fusedChannelLanes(a->fused, acc, DWX_COLS, a->dbias + 16 * h,
                      SEQK_NARROW /* acc in memory: the asm above */);
    transpose16Blocked(acc);
    if (OW >= DWX_COLS || (a->oh1 - oh) * OW >= DWX_COLS) {
      SEQK_UNROLL
      for (int c = 0; c < DWX_LANES; ++c)
        if (c < nc)
          *(seqkVecU *)(yh + c * OHW + at) = acc[c];
    } else {
      /* (acc indexed by constants only: at run time, it would live in
       * memory, each multiply-add above followed by a store) */
      float lanes[DWX_LANES][DWX_LANES] __attribute__((aligned(64)));
      SEQK_UNROLL
      for (int c = 0; c < DWX_LANES; ++c)
        *(seqkVec *)lanes[c] = acc[c];
      SEQK_ROLLED
      for (int64_t c = 0; c < nc; ++c)
        SEQK_ROLLED
        for (int64_t e = 0; e < OW; ++e)
          yh[c * OHW + e] = lanes[c][e];
    }
    if (at + DWX_COLS >= OW)
      break;
  }
  if (a->epi)
    for (int64_t c = 0; c < nc; ++c)
      a->epi(a->env, a->m0 + 16 * h + c, oh * OW, yh + c * OHW,
             yh + c * OHW, OW);
}

static __attribute__((noinline)) void dwxDepthwise1(const Dwx *a, int64_t h,
                                                    int64_t nc) {
  for (int64_t oh = a->oh0; oh < a->oh1; ++oh)
    dwxDepthwiseRow(a, h, nc, oh, 1);
}
static __attribute__((noinline)) void dwxDepthwise2(const Dwx *a, int64_t h,
                                                    int64_t nc) {
  for (int64_t oh = a->oh0; oh < a->oh1; ++oh)
    dwxDepthwiseRow(a, h, nc, oh, 2);
}

/* The task, out of line: its shapes at run time. */
static __attribute__((noinline)) void dwxTask(Dwx *a, int64_t ES) {
  const int64_t taps = a->KH * a->KW;
  for (int64_t l = 0; l < 32; ++l) {
    int64_t ch = a->m0 + l;
    int in = l < a->nch;
    a->ebias[l] = in && a->expand && a->expand->bias ? a->expand->bias[ch] : 0.0f;
    a->dbias[l] = in && a->fused && a->fused->bias ? a->fused->bias[ch] : 0.0f;
    for (int64_t t = 0; t < taps; ++t)
      a->taps[(l / 16 * taps + t) * DWX_LANES + l % 16] = in ? a->w[ch * taps + t] : 0.0f;
  }
  dwxExpand(a, ES);
  for (int64_t h = 0; h * 16 < a->nch; ++h) {
    int64_t nc = seqkMin(16, a->nch - 16 * h);
    if (a->SW == 2)
      dwxDepthwise2(a, h, nc);
    else
      dwxDepthwise1(a, h, nc);
  }
}

void seqk_conv_depthwise_lanes(
    const float *x, int64_t xPlane, int64_t xRow, int64_t ES, int64_t eKH,
    int64_t eKW, int64_t eRowTap, int64_t eColTap, const float *we,
    const float *w, float *y, float *work, int64_t eC, int64_t C, int64_t H,
    int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t top,
    int64_t left, int64_t DH, int64_t DW, int64_t OH, int64_t OW, int64_t p,
    int64_t oh0, int64_t oh1, const seqk_fused *expand,
    const seqk_fused *fused, seqk_epilogue epi, const void *env) {
  const int64_t rows = dwxRows(oh1 - oh0, KH, SH, DH);
  const int64_t Wb = dwxColumns(KW, SW, DW, left, W, OW);
  Dwx a = {.x = x, .we = we, .w = w, .y = y, .band = work,
           .taps = work + 2 * rows * Wb * DWX_LANES, .eC = eC, .C = C,
           .H = H, .W = W, .KH = KH, .KW = KW, .SH = SH, .SW = SW,
           .top = top, .left = left, .DH = DH, .DW = DW, .OH = OH, .OW = OW,
           .xPlane = xPlane, .xRow = xRow, .eTaps = eKH * eKW,
           .m0 = p * 32, .nch = seqkMin(32, C - p * 32), .oh0 = oh0,
           .oh1 = oh1, .rows = rows, .Wb = Wb, .expand = expand,
           .fused = fused, .epi = epi, .env = env};
  for (int64_t t = 0; t < eKH * eKW && t < DWX_MAX_TAPS; ++t)
    a.eOffset[t] = t / eKW * eRowTap + t % eKW * eColTap;
  dwxTask(&a, ES);
}

void seqk_expand_depthwise_lanes(const float *x, const float *we,
                                 const float *w, float *y, float *work,
                                 int64_t eC, int64_t C, int64_t H, int64_t W,
                                 int64_t KH, int64_t KW, int64_t SH,
                                 int64_t SW, int64_t top, int64_t left,
                                 int64_t DH, int64_t DW, int64_t OH,
                                 int64_t OW, int64_t p, int64_t oh0,
                                 int64_t oh1, const seqk_fused *expand,
                                 const seqk_fused *fused, seqk_epilogue epi,
                                 const void *env) {
  seqk_conv_depthwise_lanes(x, H * W, W, 1, 1, 1, 0, 0, we, w, y, work, eC, C,
                            H, W, KH, KW, SH, SW, top, left, DH, DW, OH, OW, p,
                            oh0, oh1, expand, fused, epi, env);
}

/* dwlanes.c: depthwise convolutions of small planes (7x7 and 14x14 in
 * MobileNetV2 and EfficientNet) with 16 channels in the vector lanes.
 *
 * seqk_depthwise2d_phased (depthwise.c) puts a channel's positions in the
 * lanes: on a 7x7 plane a row is less than half a vector, so it computes
 * in padded positions (80 for 49 outputs) after copying each channel,
 * and every channel pays a copy and an epilogue setup. Here a block of
 * 16 channels is transposed (16 x 16 in registers) into a zero-padded
 * buffer of positions x 16 channels, so that every multiply-add computes
 * 16 useful outputs: each output position sums its taps in order, one
 * multiply-add each (as the phased kernel and PyTorch do). The outputs
 * are transposed back to the channels' planes, then each channel's
 * epilogue runs once on its whole plane; or, when it is a bias and a
 * clamp, in registers on the vectors of 16 channels before they are
 * stored (one vector operation for 16 outputs, no call a channel).
 *
 * The taps of a block are one vector each: the weights come in panels of
 * 32 channels (packDepthwiseWeights), a block being half a panel; they
 * used to be gathered from [C][taps] for every block of every call (a
 * tenth of the time on 7x7 planes). The padded block's border is zeroed
 * once a call: the blocks write only its inside.
 *
 * Those stores go to 16 planes at once, more streams than the hardware's
 * store prefetching follows, and on 2 threads their lines are often in
 * the other core's cache: the projection after a depthwise convolution
 * reads it split by positions, not channels. Each store then waited for
 * its line (MobileNetV2's 14 x 14 ones took longer on 2 threads than on
 * 1), so a block first asks for its output lines, for writing, and they
 * arrive while its taps are computed (a stack of four 576-channel 14 x 14
 * inverted residuals: 0.80 -> 0.74 ms on 2 threads; MobileNetV2 -4%). */
#include "fused.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define DWL_LANES 16
/* output positions of a row per register block: 8 vectors, or 6 (12 ymm)
 * with 16 vector registers */
#define DWL_COLS (SEQK_NARROW ? 6 : 8)

int64_t seqk_depthwise2d_lanes_block(int64_t KH, int64_t KW, int64_t SH,
                                     int64_t SW, int64_t DH, int64_t DW,
                                     int64_t OH, int64_t OW) {
  const int64_t Hp = (OH - 1) * SH + (KH - 1) * DH + 1;
  const int64_t Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  return (Hp * Wp + OH * OW + KH * KW) * DWL_LANES;
}

/* The 16 lanes of block `b`'s channels at 16 consecutive positions
 * [p, p + 16) of their planes (plane floats apart), transposed: m[i] holds
 * position p + i, lane l channel 16b + l (0 past the last channel). */
SEQK_INLINE void dwlGather(const float *restrict x, int64_t plane, int64_t nc,
                           int64_t p, seqkVec m[16]) {
  static const float zeros[16];
  const float *rows[16];
  SEQK_UNROLL
  for (int l = 0; l < DWL_LANES; ++l)
    rows[l] = l < nc ? x + l * plane + p : zeros;
  transpose16FromRows(rows, m);
}

/* Zeros the positions of the padded block [Hp][Wp][16] that no input
 * lands on (the image's at (top + ih, left + iw), those inside it): the
 * same for every block, so once a call. */
SEQK_INLINE void dwlZeroBorder(float *restrict xt, int64_t Hp, int64_t Wp,
                               int64_t H, int64_t W, int64_t top,
                               int64_t left) {
  const int64_t r0 = seqkMin(top, Hp), r1 = seqkMin(top + H, Hp);
  const int64_t c0 = seqkMin(left, Wp), c1 = seqkMin(left + W, Wp);
  for (int64_t r = 0; r < Hp; ++r)
    for (int64_t q = 0; q < Wp; ++q) {
      if (r >= r0 && r < r1 && q == c0)
        q = c1; /* the row's inside */
      if (q < Wp)
        *(seqkVecU *)(xt + (r * Wp + q) * DWL_LANES) = (seqkVec){0};
    }
}

void seqk_depthwise2d_lanes(const float *restrict x, float *restrict buf,
                            const float *restrict w, int64_t wPanels,
                            float *restrict y, int64_t C, int64_t H,
                            int64_t W, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t top, int64_t left, int64_t DH,
                            int64_t DW, int64_t OH, int64_t OW, int64_t b0,
                            int64_t b1, seqk_epilogue epi, const void *env,
                            const seqk_fused *fused) {
  const int64_t Hp = (OH - 1) * SH + (KH - 1) * DH + 1;
  const int64_t Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  const int64_t HW = H * W, OHW = OH * OW, taps = KH * KW;
  float *restrict xt = buf;                        /* [Hp][Wp][16] */
  float *restrict ot = xt + Hp * Wp * DWL_LANES;   /* [OHW][16] */
  float *restrict wt = ot + OHW * DWL_LANES;       /* [taps][16] */
  /* the taps of block b: in w's panels of 32 channels, [taps][32] each
   * (half a panel, one vector a tap), or gathered from its rows into wt */
  const int64_t tapStep = wPanels ? 2 * DWL_LANES : DWL_LANES;
  dwlZeroBorder(xt, Hp, Wp, H, W, top, left);
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t c0 = b * DWL_LANES, nc = seqkMin(DWL_LANES, C - c0);
    const float *restrict wk = w + (b / 2 * taps * 2 + b % 2) * DWL_LANES;
    if (!wPanels) {
      for (int64_t t = 0; t < taps; ++t)
        SEQK_UNROLL
        for (int l = 0; l < DWL_LANES; ++l)
          wt[t * DWL_LANES + l] = l < nc ? w[(c0 + l) * taps + t] : 0.0f;
      wk = wt;
    }
    float bias[DWL_LANES] __attribute__((aligned(64)));
    SEQK_UNROLL
    for (int l = 0; l < DWL_LANES; ++l)
      bias[l] = fused && fused->bias && l < nc ? fused->bias[c0 + l] : 0.0f;
    /* the planes' positions 16 at a time, the last run moved back to end
     * at HW (its first positions stored twice, the same values) */
    for (int64_t p0 = 0; p0 < HW; p0 += DWL_LANES) {
      const int64_t p = seqkMin(p0, HW - DWL_LANES);
      seqkVec m[16];
      dwlGather(x + c0 * HW, HW, nc, p, m);
      int64_t ih = p / W, iw = p % W;
      SEQK_UNROLL
      for (int i = 0; i < DWL_LANES; ++i) {
        const int64_t r = ih + top, col = iw + left;
        if (r < Hp && col < Wp)
          *(seqkVecU *)(xt + (r * Wp + col) * DWL_LANES) = m[i];
        if (++iw == W)
          iw = 0, ++ih;
      }
    }
    /* the block's output lines, for writing (see the top) */
    for (int64_t l = 0; l < nc; ++l) {
      const float *plane = y + (c0 + l) * OHW;
      for (int64_t e = 0; e < OHW; e += 16)
        __builtin_prefetch(plane + e, 1, 3);
      __builtin_prefetch(plane + OHW - 1, 1, 3);
    }
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow0 = 0; ow0 < OW; ow0 += DWL_COLS) {
        const int64_t n = seqkMin(DWL_COLS, OW - ow0);
        seqkVec acc[DWL_COLS];
        SEQK_UNROLL
        for (int j = 0; j < DWL_COLS; ++j)
          acc[j] = (seqkVec){0};
        for (int64_t kh = 0; kh < KH; ++kh) {
          const float *restrict row = xt + ((oh * SH + kh * DH) * Wp + ow0 * SW) * DWL_LANES;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const seqkVec wv = *(const seqkVecU *)(wk + (kh * KW + kw) * tapStep);
            const float *restrict at = row + kw * DW * DWL_LANES;
            SEQK_UNROLL
            for (int j = 0; j < DWL_COLS; ++j)
              if (j < n)
                acc[j] = acc[j] + *(const seqkVecU *)(at + j * SW * DWL_LANES) * wv;
          }
        }
        fusedChannelLanes(fused, acc, DWL_COLS, bias, 0);
        SEQK_UNROLL
        for (int j = 0; j < DWL_COLS; ++j)
          if (j < n)
            *(seqkVecU *)(ot + (oh * OW + ow0 + j) * DWL_LANES) = acc[j];
      }
    /* back to the channels' planes, 16 positions at a time (the last run
     * moved back: its first positions stored twice, the same values) */
    float *restrict yb = y + c0 * OHW;
    for (int64_t q0 = 0; q0 < OHW; q0 += DWL_LANES) {
      const int64_t q = seqkMin(q0, OHW - DWL_LANES);
      seqkVec m[16];
      const float *rows[16];
      SEQK_UNROLL
      for (int i = 0; i < DWL_LANES; ++i)
        rows[i] = ot + (q + i) * DWL_LANES;
      transpose16FromRows(rows, m);
      SEQK_UNROLL
      for (int l = 0; l < DWL_LANES; ++l)
        if (l < nc)
          *(seqkVecU *)(yb + l * OHW + q) = m[l];
    }
    if (epi)
      for (int64_t l = 0; l < nc; ++l)
        epi(env, c0 + l, 0, yb + l * OHW, yb + l * OHW, OHW);
  }
}

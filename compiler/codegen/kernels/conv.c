/* conv.c: the convolution kernels besides the GEMMs of gemm.c: the
 * direct convolution of stride 1 on a zero-padded copy of the input, with
 * its padding kernel; im2col, which turns a (grouped) Conv2d into a GEMM
 * (seqk_gemm). (The depthwise convolution, which has too little reuse
 * for a GEMM, is in depthwise.c.)
 *
 * im2col walks output rows and split each row into the outputs whose window
 * tap falls in the left padding, inside the image, and in the right
 * padding (seqkValidRange), so that the inner loop over output columns is
 * a plain strided copy or multiply-add that vectorises. */
#include <stdint.h>

#include "seqk.h"
#include "tile.h"
#include "window.h"

/* dst[0:n] = src[0:n] inline: vectors, the last moved back to end at n
 * (its first floats copied twice); under 16 floats, pieces of 8, 4, 2
 * and 1. For the short rows of small planes: a call to memcpy a 56-float
 * row (the plain loop, as clang compiles it) cost as long as the copy. */
SEQK_INLINE void copyRun(const float *restrict src, float *restrict dst,
                         int64_t n) {
  if (n >= 16) {
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
      *(seqkVecU *)(dst + j) = *(const seqkVecU *)(src + j);
      __asm__("" : "+r"(j)); /* not a loop clang turns into memcpy */
    }
    if (j < n)
      *(seqkVecU *)(dst + n - 16) = *(const seqkVecU *)(src + n - 16);
    return;
  }
  for (int piece = 8; piece >= 1; piece /= 2)
    if (n & piece) {
      __builtin_memcpy(dst, src, piece * sizeof(float));
      dst += piece;
      src += piece;
    }
}

/* Row r of col is the tap (c, kh, kw) over every output position. */
void seqk_im2col(const float *restrict x, int64_t C, int64_t H, int64_t W,
                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                 int64_t PW, int64_t DH, int64_t DW, int64_t OH, int64_t OW,
                 float *restrict col, int64_t r0, int64_t r1) {
  (void)C;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
    const float *restrict xc = x + c * H * W;
    float *restrict dst = col + r * OH * OW;
    int64_t offW = kw * DW - PW, lo, hi;
    seqkValidRange(offW, SW, W, OW, &lo, &hi);
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih = oh * SH - PH + kh * DH;
      float *restrict out = dst + oh * OW;
      if (ih < 0 || ih >= H) {
        for (int64_t ow = 0; ow < OW; ++ow)
          out[ow] = 0.0f;
        continue;
      }
      const float *restrict row = xc + ih * W + offW;
      for (int64_t ow = 0; ow < lo; ++ow)
        out[ow] = 0.0f;
      int64_t ow = lo;
      /* stride 2: 16 at a time, not 16 scalar loads; the last 16 moved
       * back to end at hi (its first outputs stored twice, the same) */
      if (SW == 2 && hi - lo >= 16) {
        for (; ow + 16 <= hi; ow += 16) {
          seqkVec even;
          seqkEvenOf31(row + 2 * ow, &even);
          *(seqkVecU *)(out + ow) = even;
        }
        if (ow < hi) {
          seqkVec even;
          seqkEvenOf31(row + 2 * (hi - 16), &even);
          *(seqkVecU *)(out + hi - 16) = even;
          ow = hi;
        }
      }
      for (; ow < hi; ++ow)
        out[ow] = row[ow * SW];
      for (int64_t ow = hi; ow < OW; ++ow)
        out[ow] = 0.0f;
    }
  }
}

/* ---- Stride-1 convolution on a padded copy ------------------------------
 *
 * With the input zero-padded to xp [C, Hp, Wp] (so that the padding is
 * memory), output (oh, ow) of a stride-1 convolution reads tap (c, kh, kw)
 * at xp[c, oh + kh*DH, ow + kw*DW]. Numbering outputs by their padded
 * position q = oh*Wp + ow makes that xp[c*Hp*Wp + kh*DH*Wp + kw*DW + q]:
 * for a fixed tap, consecutive q read consecutive floats. So the GEMM's B
 * row for tap k is a contiguous run of xp, read in place by the register
 * tile: no im2col, no packing. The positions with ow >= OW (KW-1 columns
 * per row, DW apart) are computed and dropped. */

void seqk_pad2d(const float *restrict x, float *restrict xp, int64_t C,
                int64_t H, int64_t W, int64_t Hp, int64_t Wp, int64_t top,
                int64_t left, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    const float *restrict src = x + c * H * W;
    float *restrict dst = xp + c * Hp * Wp;
    for (int64_t r = 0; r < Hp; ++r) {
      float *restrict row = dst + r * Wp;
      int64_t ih = r - top;
      if (ih < 0 || ih >= H) {
        for (int64_t j = 0; j < Wp; ++j)
          row[j] = 0.0f;
        continue;
      }
      for (int64_t j = 0; j < left; ++j)
        row[j] = 0.0f;
      copyRun(src + ih * W, row + left, W);
      for (int64_t j = left + W; j < Wp; ++j)
        row[j] = 0.0f;
    }
  }
  if (c1 == C)
    for (int64_t j = 0; j < SEQK_CONV_SLACK; ++j)
      xp[C * Hp * Wp + j] = 0.0f;
}

/* The padded row `row` (Wp floats: zeros, then src's W from `left`)
 * split by column parity into dst: evens at 0, odds at (Wp + 1) / 2. 32
 * columns at a time through a buffer of the padded row, 32 floats longer
 * (zeros): two loads and two shuffles a 16 columns of each parity. */
SEQK_INLINE void phaseRow(const float *restrict src, float *restrict dst,
                          int64_t W, int64_t Wp, int64_t left) {
  float row[SEQK_PHASED_ROW_MAX + 32] __attribute__((aligned(64)));
  const int64_t We = (Wp + 1) / 2, Wo = Wp / 2;
  for (int64_t j = 0; j < left; ++j)
    row[j] = 0.0f;
  copyRun(src, row + left, W);
  for (int64_t j = left + W; j < Wp + 32; ++j)
    row[j] = 0.0f;
  int64_t j = 0;
  for (; j + 16 <= Wo; j += 16) {
    seqkVec a = *(const seqkVec *)(row + 2 * j);
    seqkVec b = *(const seqkVec *)(row + 2 * j + 16);
    *(seqkVecU *)(dst + j) = __builtin_shufflevector(
        a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    *(seqkVecU *)(dst + We + j) = __builtin_shufflevector(
        a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  }
  for (; j < We; ++j) {
    dst[j] = row[2 * j];
    if (j < Wo)
      dst[We + j] = row[2 * j + 1];
  }
}

void seqk_pad2d_phased(const float *restrict x, float *restrict xp,
                       int64_t C, int64_t H, int64_t W, int64_t Hp,
                       int64_t Wp, int64_t top, int64_t left, int64_t c0,
                       int64_t c1) {
  if (Wp > SEQK_PHASED_ROW_MAX) {
    /* (not taken: the compiler phases rows of up to SEQK_PHASED_ROW_MAX) */
    __builtin_trap();
  }
  for (int64_t c = c0; c < c1; ++c) {
    const float *restrict src = x + c * H * W;
    float *restrict dst = xp + c * Hp * Wp;
    for (int64_t r = 0; r < Hp; ++r) {
      float *restrict row = dst + r * Wp;
      const int64_t ih = r - top;
      if (ih < 0 || ih >= H) {
        for (int64_t j = 0; j < Wp; ++j)
          row[j] = 0.0f;
        continue;
      }
      phaseRow(src + ih * W, row, W, Wp, left);
    }
  }
  if (c1 == C)
    for (int64_t j = 0; j < SEQK_CONV_SLACK; ++j)
      xp[C * Hp * Wp + j] = 0.0f;
}

/* Outputs [q, q + n) of one plane in padded positions, out[0:n], into
 * the plane yp [OH*OW]: each run of one output row (ow < OW) copied to
 * column oh*OW + ow (the dropped columns skipped; the epilogue runs later,
 * directEpilogue). */
SEQK_INLINE void scatterRun(const float *restrict out, float *restrict yp,
                            int64_t q, int64_t n, int64_t Wp, int64_t OW) {
  for (int64_t j = 0; j < n;) {
    int64_t oh = (q + j) / Wp, ow = (q + j) % Wp;
    if (ow >= OW) { /* a dropped column: skip to the next row */
      j += Wp - ow;
      continue;
    }
    int64_t len = seqkMin(OW - ow, n - j), p = oh * OW + ow;
    copyRun(out + j, yp + p, len);
    j += len;
  }
}

/* The tile's rows [0, mr) (output channels m, m+1, ...) at padded
 * positions [q, q + n) into their planes of y. */
SEQK_INLINE void scatterTile(const Tile *t, float *restrict y, int64_t m,
                             int64_t mr, int64_t q, int64_t n, int64_t Wp,
                             int64_t OH, int64_t OW) {
  float out[TILE_MR][TILE_NR];
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      *(seqkVecU *)(out[i] + 16 * v) = t->acc[i][v];
  }
  for (int64_t i = 0; i < mr; ++i)
    scatterRun(out[i], y + (m + i) * OH * OW, q, n, Wp, OW);
}

/* The outputs at padded positions [q0, q1) are one contiguous run of each
 * channel's plane (the dropped columns are not in it): the epilogue on
 * that run, once per channel, after all the task's tiles are stored (the
 * run still in cache). Per tile and output row instead, 56-wide rows took
 * 16 calls a tile of 72 taps (ResNeXt-50's grouped 3x3s). */
SEQK_INLINE void directEpilogue(float *restrict y, int64_t m0, int64_t m1,
                                int64_t q0, int64_t q1, int64_t Wp,
                                int64_t OH, int64_t OW, seqk_epilogue epi,
                                const void *env) {
  if (!epi || q1 <= q0)
    return;
  /* the first output at or after padded position q (OH * OW past the end) */
  const int64_t first = q0 / Wp * OW + seqkMin(q0 % Wp, OW);
  const int64_t last = (q1 - 1) / Wp * OW + seqkMin((q1 - 1) % Wp, OW - 1) + 1;
  if (last <= first)
    return;
  for (int64_t m = m0; m < m1; ++m) {
    float *run = y + m * OH * OW + first;
    epi(env, m, first, run, run, last - first);
  }
}

/* Few output channels (a grouped convolution's groups of 4, ResNeXt's
 * first stage): tiles of DIRECT_NARROW_MR channels by DIRECT_NARROW_NV
 * vectors of positions, where TILE_MR rows would be half empty: each tap
 * loads 4 vectors of the padded input for 4 broadcasts and 16
 * multiply-adds. Its reads reach 63 floats past a tile's first position,
 * within SEQK_CONV_SLACK. The same sums in the same order, so the same
 * bits as the wide tile. */
#define DIRECT_NARROW_MR 4
#define DIRECT_NARROW_NV 4
#define DIRECT_NARROW_NR (16 * DIRECT_NARROW_NV)

static void directNarrow(const float *restrict xp, const float *restrict w,
                         float *restrict y, int64_t C, int64_t Hp, int64_t Wp,
                         int64_t KH, int64_t KW, int64_t DH, int64_t DW,
                         int64_t OH, int64_t OW, int64_t m0, int64_t m1,
                         int64_t q0, int64_t q1, seqk_epilogue epi,
                         const void *env) {
  const int64_t K = C * KH * KW, plane = Hp * Wp;
  for (int64_t q = q0; q < q1; q += DIRECT_NARROW_NR)
    for (int64_t ir = m0; ir < m1; ir += DIRECT_NARROW_MR) {
      const int64_t mr = seqkMin(DIRECT_NARROW_MR, m1 - ir);
      const float *a[DIRECT_NARROW_MR];
      SEQK_UNROLL
      for (int i = 0; i < DIRECT_NARROW_MR; ++i)
        a[i] = w + (ir + (i < mr ? i : mr - 1)) * K;
      seqkVec acc[DIRECT_NARROW_MR][DIRECT_NARROW_NV];
      SEQK_UNROLL
      for (int i = 0; i < DIRECT_NARROW_MR; ++i) {
        SEQK_UNROLL
        for (int v = 0; v < DIRECT_NARROW_NV; ++v)
          acc[i][v] = (seqkVec){0};
      }
      const float *restrict xc = xp + q;
      int64_t k = 0;
      for (int64_t c = 0; c < C; ++c, xc += plane)
        for (int64_t kh = 0; kh < KH; ++kh)
SEQK_NO_UNROLL
          for (int64_t kw = 0; kw < KW; ++kw, ++k) {
            const float *restrict b = xc + kh * DH * Wp + kw * DW;
            seqkVec bv[DIRECT_NARROW_NV];
            SEQK_UNROLL
            for (int v = 0; v < DIRECT_NARROW_NV; ++v)
              bv[v] = *(const seqkVecU *)(b + 16 * v);
            SEQK_UNROLL
            for (int i = 0; i < DIRECT_NARROW_MR; ++i) {
              const float s = a[i][k];
              SEQK_UNROLL
              for (int v = 0; v < DIRECT_NARROW_NV; ++v)
                acc[i][v] = acc[i][v] + s * bv[v];
            }
          }
      float out[DIRECT_NARROW_MR][DIRECT_NARROW_NR];
      SEQK_UNROLL
      for (int i = 0; i < DIRECT_NARROW_MR; ++i) {
        SEQK_UNROLL
        for (int v = 0; v < DIRECT_NARROW_NV; ++v)
          *(seqkVecU *)(out[i] + 16 * v) = acc[i][v];
      }
      for (int64_t i = 0; i < mr; ++i)
        scatterRun(out[i], y + (ir + i) * OH * OW, q,
                   seqkMin(DIRECT_NARROW_NR, q1 - q), Wp, OW);
    }
  directEpilogue(y, m0, m1, q0, q1, Wp, OH, OW, epi, env);
}

void seqk_conv2d_direct(const float *restrict xp, const float *restrict w,
                        float *restrict y, int64_t C, int64_t Hp, int64_t Wp,
                        int64_t KH, int64_t KW, int64_t DH, int64_t DW,
                        int64_t OH, int64_t OW, int64_t m0, int64_t m1,
                        int64_t q0, int64_t q1, seqk_epilogue epi,
                        const void *env) {
  int64_t K = C * KH * KW, plane = Hp * Wp;
  q1 = seqkMin(q1, (OH - 1) * Wp + OW);
  if (m1 - m0 <= DIRECT_NARROW_MR) {
    directNarrow(xp, w, y, C, Hp, Wp, KH, KW, DH, DW, OH, OW, m0, m1, q0, q1,
                 epi, env);
    return;
  }
  /* positions outer: the B rows of a tile of positions (C*KH rows of
   * NR + (KW-1)*DW floats) stay in L1 across the row blocks */
  for (int64_t q = q0; q < q1; q += TILE_NR)
    for (int64_t ir = m0; ir < m1; ir += TILE_MR) {
      int64_t mr = seqkMin(TILE_MR, m1 - ir);
      const float *a[TILE_MR];
      tileRows(w + ir * K, K, mr, a);
      Tile t;
      tileZero(&t);
      const float *restrict xc = xp + q;
      int64_t k = 0;
      for (int64_t c = 0; c < C; ++c, xc += plane)
        for (int64_t kh = 0; kh < KH; ++kh)
SEQK_NO_UNROLL
          for (int64_t kw = 0; kw < KW; ++kw)
            tileStep(&t, a, k++, xc + kh * DH * Wp + kw * DW);
      scatterTile(&t, y, ir, mr, q, seqkMin(TILE_NR, q1 - q), Wp, OH, OW);
    }
  directEpilogue(y, m0, m1, q0, q1, Wp, OH, OW, epi, env);
}

/* depthwise.c: the depthwise convolution (groups == C == OC), any stride,
 * padding and dilation, on a per-channel copy of the input that makes
 * every tap a unit-stride vector load.
 *
 * Channel by channel, the task first copies the channel's input into
 * `buf`, zero-padded and split by column phase: buf[r][p][j] is padded
 * input row r, padded column j*SW + p. Output (oh, ow) reads tap (kh, kw)
 * at padded row oh*SH + kh*DH and column ow*SW + kw*DW, that is phase
 * (kw*DW) % SW, index ow + (kw*DW) / SW: consecutive outputs read
 * consecutive floats, whatever the stride. The copy is one channel (in L1
 * or L2), reused channel after channel, so the input is read from memory
 * once and no padded image is ever written back; that, more than the
 * arithmetic (9 FMAs per 16 outputs for a 3x3), is what a depthwise
 * convolution costs.
 *
 * Then blocks of up to DW_ROWS output rows x 16 or 32 columns in
 * registers: each tap broadcasts its weight once for the whole block, and
 * LLVM loads an input row once for every output row of the block that
 * reads it. Each output sums its taps in order (kh outer, kw inner, the
 * padding's taps adding w * 0), as the reference convolution does. The
 * epilogue runs on each finished block of rows (R*OW contiguous outputs,
 * in place), or row by row from a copy when rows are narrower than a
 * vector; a small stride-1 plane is computed whole (dwLinear). */
#include <stdint.h>

#include "seqk.h"
#include "tile.h"
#include "window.h"

#define DW_ROWS 4

#if defined(__clang__)
#define SEQK_NO_VECTORIZE _Pragma("clang loop vectorize(disable)")
#else
#define SEQK_NO_VECTORIZE
#endif

/* Padded column pc of a row (src NULL: a row of the padding). */
SEQK_INLINE float paddedAt(const float *restrict src, int64_t W, int64_t pc,
                           int64_t left) {
  int64_t iw = pc - left;
  return src && iw >= 0 && iw < W ? src[iw] : 0.0f;
}

/* Phase p of a padded row (src its input row, NULL when in the padding):
 * dst[j] = padded column j*SW + p. */
SEQK_INLINE void phaseRow(const float *restrict src, float *restrict dst,
                          int64_t W, int64_t SW, int64_t Wq, int64_t left,
                          int64_t p) {
  int64_t lo = 0, hi = 0;
  if (src)
    seqkValidRange(p - left, SW, W, Wq, &lo, &hi);
  for (int64_t j = 0; j < lo; ++j)
    dst[j] = 0.0f;
  for (int64_t j = lo; j < hi; ++j)
    dst[j] = src[j * SW + p - left];
  for (int64_t j = hi; j < Wq; ++j)
    dst[j] = 0.0f;
}

/* 16 pairs of neighbours at p, split: even[i] = p[2i], odd[i] = p[2i+1]. */
SEQK_INLINE void evenOdd16(const float *restrict p, float *restrict even,
                           float *restrict odd) {
  seqkVec a = *(const seqkVecU *)p, b = *(const seqkVecU *)(p + 16);
  *(seqkVecU *)even = __builtin_shufflevector(
      a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  *(seqkVecU *)odd = __builtin_shufflevector(
      a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/* Both phases of a padded row at column stride 2, the interior as pairs
 * of neighbours (even, odd): loads of whole vectors and shuffles, where
 * phaseRow's stride-2 loads become gathers, slow on x86. */
SEQK_INLINE void phaseRow2(const float *restrict src, float *restrict even,
                           float *restrict odd, int64_t W, int64_t Wq,
                           int64_t left) {
  /* j with 0 <= 2j - left and 2j + 1 - left < W */
  int64_t lo = seqkMin((left + 1) / 2, Wq);
  int64_t hi = src ? seqkMax(lo, seqkMin((W + left) / 2, Wq)) : lo;
  for (int64_t j = 0; j < lo; ++j)
    even[j] = odd[j] = 0.0f;
  /* 16 pairs a step by explicit shuffles: left to itself, the vectoriser
   * gathers the stride-2 loads of short rows (the 14-wide input of a 7x7
   * output spent most of its time in gathers) */
  int64_t j = lo;
  if (hi - lo >= 16) {
    /* the last 16 pairs moved back to end at hi (pairs already done
     * rewritten with the same values), so that a row has no scalar
     * remainder (MobileNet-style stride-2 layers, 1 thread: the MobileNet
     * block -4%, EfficientNet-B0 -3%) */
    for (int64_t k = lo; k < hi; k += 16) {
      int64_t at = seqkMin(k, hi - 16);
      evenOdd16(src + 2 * at - left, even + at, odd + at);
    }
    j = hi;
  }
  SEQK_NO_VECTORIZE
  for (; j < hi; ++j) {
    even[j] = src[2 * j - left];
    odd[j] = src[2 * j + 1 - left];
  }
  for (int64_t j = hi; j < Wq; ++j)
    even[j] = odd[j] = 0.0f;
  /* the only columns outside [lo, hi) that can hold input: the odd one
   * before lo and the even one at hi */
  if (lo > 0)
    odd[lo - 1] = paddedAt(src, W, 2 * lo - 1, left);
  if (hi < Wq)
    even[hi] = paddedAt(src, W, 2 * hi, left);
}

/* Rows [r0, r1) of a channel's padded, phase-split copy; xc holds the
 * channel's input rows from row0 on. */
SEQK_INLINE void phaseCopy(const float *restrict xc, int64_t row0,
                           float *restrict buf, int64_t r0, int64_t r1,
                           int64_t H, int64_t W, int64_t SW, int64_t Wq,
                           int64_t top, int64_t left) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t ih = r - top;
    const float *src = ih >= 0 && ih < H ? xc + (ih - row0) * W : 0;
    float *row = buf + r * SW * Wq;
    if (SW == 2) {
      phaseRow2(src, row, row + Wq, W, Wq, left);
      continue;
    }
    for (int64_t p = 0; p < SW; ++p)
      phaseRow(src, row + p * Wq, W, SW, Wq, left, p);
  }
}

/* Output rows [oh0, oh0 + R), columns [col, col + 16*V) of one channel,
 * from its phase-split copy. Stores whole vectors: one that runs past its
 * row writes the next row's first columns, which the caller computes
 * later (it walks the columns right to left, the rows top to bottom);
 * only a vector that would run past row `end` goes through a copy. `end`
 * is the end of the caller's rows, not of the plane: the next rows may
 * be another task's band, already stored (a whole vector there raced
 * with the other thread and left values from past the row's end). */
SEQK_INLINE void dwTile(const float *restrict buf, const float *restrict wc,
                        float *restrict yc, int64_t oh0, int64_t col, int R,
                        int V, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                        int64_t DH, int64_t DW, int64_t Wq, int64_t end,
                        int64_t OW, float narrow[DW_ROWS][16]) {
  seqkVec acc[DW_ROWS][2];
  SEQK_UNROLL
  for (int i = 0; i < R; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      acc[i][v] = (seqkVec){0};
  }
  /* input row outer: each vector loaded is used at once by every output
   * row that reads it (for each output, its kh rises with the input row,
   * so its taps still come in (kh, kw) order) */
  int64_t rowStride = SW * Wq, span = (R - 1) * SH + (KH - 1) * DH + 1;
  const float *restrict base = buf + oh0 * SH * rowStride + col;
  /* narrow (16 vector registers): each of the V vectors of columns in
   * turn, R accumulators of two ymm each */
  SEQK_UNROLL
  for (int pass = 0; pass < (SEQK_NARROW ? V : 1); ++pass) {
    const int v0 = SEQK_NARROW ? pass : 0, v1 = SEQK_NARROW ? pass + 1 : V;
    SEQK_UNROLL
    for (int64_t r = 0; r < span; ++r) {
      SEQK_UNROLL
      for (int64_t kw = 0; kw < KW; ++kw) {
        int64_t tap = kw * DW;
        const float *restrict b =
            base + r * rowStride + (tap % SW) * Wq + tap / SW;
        seqkVec in[2];
        SEQK_UNROLL
        for (int v = v0; v < v1; ++v)
          in[v] = *(const seqkVecU *)(b + 16 * v);
        SEQK_UNROLL
        for (int i = 0; i < R; ++i) {
          int64_t d = r - i * SH, kh = d / DH;
          if (d < 0 || d % DH != 0 || kh >= KH)
            continue;
          float s = wc[kh * KW + kw];
          SEQK_UNROLL
          for (int v = v0; v < v1; ++v)
            acc[i][v] = acc[i][v] + s * in[v];
        }
      }
    }
  }
  if (OW < 16) {
    /* Rows narrower than a vector: overlapping stores would leave the
     * epilogue loads that span two stores, which cannot be forwarded
     * from the store queue and wait (the 7-wide planes spent most of
     * their time there). So each row goes to the epilogue from a copy. */
    SEQK_UNROLL
    for (int i = 0; i < R; ++i)
      *(seqkVecU *)narrow[i] = acc[i][0];
    return;
  }
  SEQK_UNROLL
  for (int i = 0; i < R; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < V; ++v) {
      int64_t c = col + 16 * v, at = (oh0 + i) * OW + c;
      if (c + 16 <= OW || at + 16 <= end * OW) {
        *(seqkVecU *)(yc + at) = acc[i][v];
        continue;
      }
      float last[16];
      *(seqkVecU *)last = acc[i][v];
      for (int64_t e = 0; e < OW - c; ++e)
        yc[at + e] = last[e];
    }
  }
}

/* Output rows [oh0, oh0 + R) of one channel, every column, right to left
 * (see dwTile; `end`: the end of the caller's rows): the last 16 columns
 * alone when the rounded-up width is not a multiple of 32, then blocks of
 * 32. Rows narrower than 16 go to `narrow` instead. */
SEQK_INLINE void dwRows(const float *restrict buf, const float *restrict wc,
                        float *restrict yc, int64_t oh0, int R, int64_t KH,
                        int64_t KW, int64_t SH, int64_t SW, int64_t DH,
                        int64_t DW, int64_t Wq, int64_t end, int64_t OW,
                        float narrow[DW_ROWS][16]) {
  int64_t width = (OW + 15) / 16 * 16, pairs = width / 32;
  if (width % 32)
    dwTile(buf, wc, yc, oh0, width - 16, R, 1, KH, KW, SH, SW, DH, DW, Wq, end,
           OW, narrow);
  for (int64_t k = pairs - 1; k >= 0; --k)
    dwTile(buf, wc, yc, oh0, 32 * k, R, 2, KH, KW, SH, SW, DH, DW, Wq, end, OW,
           narrow);
}

/* A stride-1 plane in padded positions (seqk_depthwise2d_phased_linear),
 * 64 positions at a time into `lin`, then its rows into yc and the
 * epilogue on the whole plane. Reads up to 63 floats past the copy's
 * rows (the buffer's slack), for dropped positions only. */
SEQK_INLINE void dwLinear(const float *restrict buf, const float *restrict wc,
                          float *restrict yc, int64_t c, int64_t KH,
                          int64_t KW, int64_t DH, int64_t DW, int64_t Wq,
                          int64_t OH, int64_t OW, seqk_epilogue epi,
                          const void *env) {
  float lin[SEQK_DW_LINEAR_MAX + 64];
  int64_t positions = (OH - 1) * Wq + OW;
  for (int64_t q = 0; q < positions; q += 64) {
    seqkVec acc[4] = {{0}, {0}, {0}, {0}};
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        float s = wc[kh * KW + kw];
        const float *restrict b = buf + q + kh * DH * Wq + kw * DW;
        SEQK_UNROLL
        for (int v = 0; v < 4; ++v)
          acc[v] = acc[v] + s * *(const seqkVecU *)(b + 16 * v);
      }
    SEQK_UNROLL
    for (int v = 0; v < 4; ++v)
      *(seqkVecU *)(lin + q + 16 * v) = acc[v];
  }
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow)
      yc[oh * OW + ow] = lin[oh * Wq + ow];
  if (epi)
    epi(env, c, 0, yc, yc, OH * OW);
}

/* Output rows [oh0, oh1) of channel c, row by row (not dwLinear): xc holds
 * the channel's input rows from xRow0 on, W floats each (at least the rows
 * the output rows read). */
SEQK_INLINE void dwChannelRows(const float *restrict xc, int64_t xRow0,
                               float *restrict buf,
                               const float *restrict w, float *restrict y,
                               int64_t H, int64_t W, int64_t KH, int64_t KW,
                               int64_t SH, int64_t SW, int64_t top,
                               int64_t left, int64_t DH, int64_t DW,
                               int64_t OH, int64_t OW, int64_t Wq, int64_t c,
                               int64_t oh0, int64_t oh1, seqk_epilogue epi,
                               const void *env) {
  const float *restrict wc = w + c * KH * KW;
  float *restrict yc = y + c * OH * OW;
  /* the copy's rows one block before the block that first reads them:
   * still in L1 when read, and no longer in the store queue (copied just
   * before, the taps' loads spanned two of the copy's stores, which
   * cannot forward, and waited: 96 x 112 x 112 at stride 2 took 364 ->
   * 321 us). Blocks of DW_ROWS rows, the last
   * rows one by one; one epilogue call site (it is inlined: SiLU's
   * code once, not once per block shape). Wide rows get their epilogue
   * one block late, rows [done, oh) after block oh is computed: right
   * after their stores, its vector loads each spanned two overlapping
   * stores still in the store queue, which cannot forward, and waited
   * (a 28-wide plane spent a third of its time there). */
  int64_t copied = oh0 * SH, done = oh0;
  const int64_t last = (oh1 - 1) * SH + (KH - 1) * DH + 1; /* rows read */
  for (int64_t oh = oh0;;) {
    int R = oh + DW_ROWS <= oh1 ? DW_ROWS : 1;
    float narrow[DW_ROWS][16];
    if (oh < oh1) {
      int64_t need = (oh + R - 1) * SH + (KH - 1) * DH + 1;
      if (need > copied) {
        int64_t ahead = seqkMin(need + DW_ROWS * SH, last);
        phaseCopy(xc, xRow0, buf, copied, ahead, H, W, SW, Wq, top, left);
        copied = ahead;
      }
      if (R == DW_ROWS)
        dwRows(buf, wc, yc, oh, DW_ROWS, KH, KW, SH, SW, DH, DW, Wq, oh1, OW,
               narrow);
      else
        dwRows(buf, wc, yc, oh, 1, KH, KW, SH, SW, DH, DW, Wq, oh1, OW,
               narrow);
    }
    if (OW >= 16) {
      if (epi && done < oh)
        epi(env, c, done * OW, yc + done * OW, yc + done * OW,
            (oh - done) * OW);
      done = oh;
    }
    if (oh >= oh1)
      break;
    if (OW < 16) {
      /* one row at a time: vectorised across the rows, the epilogue
       * became gathers and scatters (most of a 14 x 14 plane's time) */
      SEQK_NO_VECTORIZE
      for (int i = 0; i < R; ++i) {
        float *restrict dst = yc + (oh + i) * OW;
        if (epi)
          epi(env, c, (oh + i) * OW, narrow[i], dst, OW);
        else
          for (int64_t e = 0; e < OW; ++e)
            dst[e] = narrow[i][e];
      }
    }
    oh += R;
  }
}

void seqk_depthwise2d_phased(const float *restrict x, float *restrict buf,
                             const float *restrict w, float *restrict y,
                             int64_t H, int64_t W, int64_t KH, int64_t KW,
                             int64_t SH, int64_t SW, int64_t top,
                             int64_t left, int64_t DH, int64_t DW, int64_t OH,
                             int64_t OW, int64_t Wq, int64_t c0, int64_t c1,
                             seqk_epilogue epi, const void *env) {
  for (int64_t c = c0; c < c1; ++c) {
    if (seqk_depthwise2d_phased_linear(SH, SW, OH, OW, Wq)) {
      phaseCopy(x + c * H * W, 0, buf, 0, (OH - 1) + (KH - 1) * DH + 1, H, W, 1,
                Wq, top, left);
      dwLinear(buf, w + c * KH * KW, y + c * OH * OW, c, KH, KW, DH, DW, Wq,
               OH, OW, epi, env);
      continue;
    }
    dwChannelRows(x + c * H * W, 0, buf, w, y, H, W, KH, KW, SH, SW, top, left,
                  DH, DW, OH, OW, Wq, c, 0, OH, epi, env);
  }
}

void seqk_depthwise2d_phased_rows(const float *restrict x, int64_t xPlane,
                                  int64_t xRow0, float *restrict buf,
                                  const float *restrict w, float *restrict y,
                                  int64_t H, int64_t W, int64_t KH,
                                  int64_t KW, int64_t SH, int64_t SW,
                                  int64_t top, int64_t left, int64_t DH,
                                  int64_t DW, int64_t OH, int64_t OW,
                                  int64_t Wq, int64_t c0, int64_t c1,
                                  int64_t oh0, int64_t oh1, seqk_epilogue epi,
                                  const void *env) {
  for (int64_t c = c0; c < c1; ++c)
    dwChannelRows(x + (c - c0) * xPlane, xRow0, buf, w, y, H, W, KH, KW, SH,
                  SW, top, left, DH, DW, OH, OW, Wq, c, oh0, oh1, epi, env);
}

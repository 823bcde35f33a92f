/* pool.c: max, average and adaptive average pooling over [P, H, W]
 * planes, with PyTorch's CPU semantics (padding, ceil_mode windows chosen
 * by the caller through OH/OW, divisors, NaN propagation).
 *
 * Max and average pooling accumulate a whole output row at once, tap by
 * tap (kh outer, kw inner: each output sees its window in PyTorch's order),
 * so that the inner loop runs over independent outputs and vectorises. */
#include <stdint.h>

#include "seqk.h"
#include "tile.h"
#include "window.h"

/* PyTorch: if (v > m || isnan(v)) m = v, starting from -inf. */
static void maxpoolRow(const float *restrict xp, float *restrict out,
                       int64_t oh, int64_t H, int64_t W, int64_t KH,
                       int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                       int64_t PW, int64_t DH, int64_t DW, int64_t OW) {
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = -__builtin_inff();
  for (int64_t kh = 0; kh < KH; ++kh) {
    int64_t ih = oh * SH - PH + kh * DH;
    if (ih < 0 || ih >= H)
      continue;
    for (int64_t kw = 0; kw < KW; ++kw) {
      int64_t offW = kw * DW - PW, lo, hi;
      seqkValidRange(offW, SW, W, OW, &lo, &hi);
      const float *restrict row = xp + ih * W + offW;
      for (int64_t ow = lo; ow < hi; ++ow) {
        float v = row[ow * SW], m = out[ow];
        out[ow] = (v > m || v != v) ? v : m;
      }
    }
  }
}

static inline float maxTap(float v, float m) {
  return (v > m || v != v) ? v : m;
}

/* The common 2x2 window at stride 2 with every window inside the input:
 * an output's four taps in one pass, in maxpoolRow's order and with its
 * NaN rule, so the loads are two rows of interleaved pairs, which
 * vectorise with shuffles (maxpoolRow makes four strided passes). */
static void maxpoolRow2x2(const float *restrict r0, const float *restrict r1,
                          float *restrict out, int64_t OW) {
  for (int64_t ow = 0; ow < OW; ++ow) {
    float m = maxTap(r0[2 * ow], -__builtin_inff());
    m = maxTap(r0[2 * ow + 1], m);
    m = maxTap(r1[2 * ow], m);
    out[ow] = maxTap(r1[2 * ow + 1], m);
  }
}

/* Vectorise 16 wide and do not interleave: interleaved four times, a
 * loop over a 56-wide row ran entirely in its scalar remainder. */
#if defined(__clang__)
#define POOL_VECTORISE _Pragma("clang loop vectorize_width(16) interleave_count(1)")
#else
#define POOL_VECTORISE
#endif

/* The 3x3 window at stride 2 (ResNets' stem pool), separably: each
 * input row's maxima over the three columns of every output's window,
 * then each output's over its three rows. The same bits as maxpoolRow's
 * nine taps in order: a run of maxTap keeps the first of equal values
 * (so the same zero of two) and the last NaN, and so do the maxima of
 * the maxima of its parts, in order. A row's maxima serve two output
 * rows (the bottom row of one window is the top row of the next), so
 * each output takes 6 maxTap instead of 9 (ResNet-18's 64 x 112 x 112
 * pool: 279 -> 192 us at batch 1, one thread). */
#define POOL_ROW_MAX 512 /* output columns pooled at a time */

/* out[ow - ow0] for ow in [ow0, ow1) = the maxima of input row r (W
 * floats) over columns 2*ow - PW .. 2*ow - PW + 2, those inside the row,
 * in order. */
static void maxpoolCols3s2(const float *restrict r, float *restrict out,
                           int64_t W, int64_t PW, int64_t ow0, int64_t ow1) {
  /* [lo, hi): the outputs whose three columns are all inside */
  int64_t span = W + PW - 3;
  int64_t lo = seqkMax(ow0, (PW + 1) / 2);
  int64_t hi = span < 0 ? lo : seqkMax(lo, seqkMin(ow1, span / 2 + 1));
  for (int64_t ow = ow0; ow < ow1; ++ow) {
    if (ow == lo && lo < hi)
      ow = hi; /* the interior below */
    if (ow >= ow1)
      break;
    float m = -__builtin_inff();
    for (int kw = 0; kw < 3; ++kw) {
      int64_t iw = 2 * ow - PW + kw;
      if (iw >= 0 && iw < W)
        m = maxTap(r[iw], m);
    }
    out[ow - ow0] = m;
  }
  POOL_VECTORISE
  for (int64_t ow = lo; ow < hi; ++ow) {
    const int64_t iw = 2 * ow - PW;
    out[ow - ow0] = maxTap(r[iw + 2], maxTap(r[iw + 1], r[iw]));
  }
}

/* Output columns [ow0, ow1) of one plane's 3x3 stride-2 pooling, y its
 * first output row (OW floats a row), ow1 - ow0 <= POOL_ROW_MAX. */
static void maxpoolPlane3x3s2(const float *restrict xp, float *restrict y,
                              int64_t H, int64_t W, int64_t PH, int64_t PW,
                              int64_t OH, int64_t OW, int64_t ow0,
                              int64_t ow1) {
  float buf[3][POOL_ROW_MAX];
  float *top = buf[0], *mid = buf[1], *bottom = buf[2];
  const int64_t n = ow1 - ow0;
  int64_t cached = -1; /* the input row whose maxima `top` holds */
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t ih = 2 * oh - PH;
    float *restrict out = y + oh * OW + ow0;
    float *h[3] = {top, mid, bottom};
    int first = 1;
    for (int kh = 0; kh < 3; ++kh) {
      const int64_t r = ih + kh;
      if (r < 0 || r >= H)
        continue;
      if (kh != 0 || r != cached)
        maxpoolCols3s2(xp + r * W, h[kh], W, PW, ow0, ow1);
      const float *restrict hk = h[kh];
      if (first) {
        for (int64_t j = 0; j < n; ++j)
          out[j] = hk[j];
      } else {
        POOL_VECTORISE
        for (int64_t j = 0; j < n; ++j)
          out[j] = maxTap(hk[j], out[j]);
      }
      first = 0;
    }
    if (first) /* no row of the window inside: PyTorch's -inf */
      for (int64_t j = 0; j < n; ++j)
        out[j] = -__builtin_inff();
    /* the window's bottom row is the next window's top row */
    cached = ih + 2 < H ? ih + 2 : -1;
    float *t = top;
    top = bottom;
    bottom = t;
  }
}

void seqk_maxpool2d(const float *restrict x, float *restrict y, int64_t H,
                    int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                    int64_t OH, int64_t OW, int64_t p0, int64_t p1) {
  int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 &&
                PW == 0 && DH == 1 && DW == 1 && 2 * OH <= H && 2 * OW <= W;
  int fast3x3 = KH == 3 && KW == 3 && SH == 2 && SW == 2 && DH == 1 && DW == 1;
  for (int64_t p = p0; p < p1; ++p) {
    const float *xp = x + p * H * W;
    if (fast3x3) {
      for (int64_t ow0 = 0; ow0 < OW; ow0 += POOL_ROW_MAX)
        maxpoolPlane3x3s2(xp, y + p * OH * OW, H, W, PH, PW, OH, OW, ow0,
                          seqkMin(OW, ow0 + POOL_ROW_MAX));
      continue;
    }
    for (int64_t oh = 0; oh < OH; ++oh) {
      float *out = y + (p * OH + oh) * OW;
      if (fast2x2)
        maxpoolRow2x2(xp + 2 * oh * W, xp + (2 * oh + 1) * W, out, OW);
      else
        maxpoolRow(xp, out, oh, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OW);
    }
  }
}

/* PyTorch's divisor: the window [i0, min(i0 + K, size + pad)) counted
 * before clipping to the input when padding is included, the clipped
 * window [max(i0, 0), min(i0 + K, size)) otherwise. */
static inline int64_t windowCount(int64_t i0, int64_t K, int64_t size,
                                  int64_t pad, int32_t includePad) {
  int64_t i1 = seqkMin(i0 + K, size + pad);
  if (includePad)
    return i1 - i0;
  return seqkMin(i1, size) - seqkMax(i0, 0);
}

static void avgpoolRow(const float *restrict xp, float *restrict out,
                       int64_t oh, int64_t H, int64_t W, int64_t KH,
                       int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                       int64_t PW, int64_t OW, int32_t includePad) {
  int64_t ih0 = oh * SH - PH;
  int64_t ih1 = seqkMin(ih0 + KH, H); /* the taps inside the input */
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = 0.0f;
  for (int64_t ih = seqkMax(ih0, 0); ih < ih1; ++ih) {
    for (int64_t kw = 0; kw < KW; ++kw) {
      int64_t offW = kw - PW, lo, hi;
      seqkValidRange(offW, SW, W, OW, &lo, &hi);
      const float *restrict row = xp + ih * W + offW;
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] += row[ow * SW];
    }
  }
  int64_t hInside = ih1 - seqkMax(ih0, 0);
  int64_t hCount = windowCount(ih0, KH, H, PH, includePad);
  for (int64_t ow = 0; ow < OW; ++ow) {
    int64_t iw0 = ow * SW - PW;
    int64_t wInside = seqkMin(iw0 + KW, W) - seqkMax(iw0, 0);
    int64_t count = hCount * windowCount(iw0, KW, W, PW, includePad);
    /* a window wholly in the padding (never produced by PyTorch's
     * output size rule) is 0, as PyTorch leaves it */
    int empty = hInside <= 0 || wInside <= 0 || count <= 0;
    out[ow] = empty ? 0.0f : out[ow] / (float)count;
  }
}

void seqk_avgpool2d(const float *restrict x, float *restrict y, int64_t H,
                    int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t OH, int64_t OW,
                    int32_t count_include_pad, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      avgpoolRow(x + p * H * W, y + (p * OH + oh) * OW, oh, H, W, KH, KW, SH,
                 SW, PH, PW, OW, count_include_pad);
}

/* The mean of n floats, as PyTorch's global average pool (x.mean over
 * the plane: a vectorised sum, divided by n). Four vectors of partial
 * sums: a float sum in order is a chain of dependent adds (4 cycles per
 * float), this adds 64 floats per step at memory speed. */
SEQK_INLINE float planeMean(const float *restrict x, int64_t n) {
  seqkVec acc[4] = {{0}, {0}, {0}, {0}};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    SEQK_UNROLL
    for (int v = 0; v < 4; ++v)
      acc[v] = acc[v] + *(const seqkVecU *)(x + i + 16 * v);
  }
  for (; i + 16 <= n; i += 16)
    acc[0] = acc[0] + *(const seqkVecU *)(x + i);
  seqkVec s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float lanes[16];
  *(seqkVecU *)lanes = s;
  SEQK_UNROLL
  for (int w = 8; w >= 1; w /= 2) {
    SEQK_UNROLL
    for (int l = 0; l < w; ++l)
      lanes[l] += lanes[l + w];
  }
  float tail = 0.0f;
  for (; i < n; ++i)
    tail += x[i];
  return (lanes[0] + tail) / (float)n;
}

/* Output i covers [floor(i*S/O), ceil((i+1)*S/O)); PyTorch sums the window
 * row by row and divides by its height, then by its width. The whole
 * plane (OH == OW == 1, which PyTorch computes as a mean) by planeMean. */
void seqk_adaptive_avgpool2d(const float *restrict x, float *restrict y,
                             int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1) {
  if (OH == 1 && OW == 1) {
    for (int64_t p = p0; p < p1; ++p)
      y[p] = planeMean(x + p * H * W, H * W);
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const float *restrict xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih0 = oh * H / OH, ih1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t iw0 = ow * W / OW, iw1 = ((ow + 1) * W + OW - 1) / OW;
        float sum = 0.0f;
        for (int64_t ih = ih0; ih < ih1; ++ih)
          for (int64_t iw = iw0; iw < iw1; ++iw)
            sum += xp[ih * W + iw];
        y[(p * OH + oh) * OW + ow] = sum / (float)(ih1 - ih0) / (float)(iw1 - iw0);
      }
    }
  }
}

/* Adaptive max pooling over the windows of seqk_adaptive_avgpool2d, with
 * max pooling's NaN rule. */
void seqk_adaptive_maxpool2d(const float *restrict x, float *restrict y,
                             int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const float *restrict xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih0 = oh * H / OH, ih1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t iw0 = ow * W / OW, iw1 = ((ow + 1) * W + OW - 1) / OW;
        float m = -__builtin_inff();
        for (int64_t ih = ih0; ih < ih1; ++ih)
          for (int64_t iw = iw0; iw < iw1; ++iw)
            m = maxTap(xp[ih * W + iw], m);
        y[(p * OH + oh) * OW + ow] = m;
      }
    }
  }
}

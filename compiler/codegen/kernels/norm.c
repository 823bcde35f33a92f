/* norm.c: softmax and log-softmax, LayerNorm, GroupNorm, PReLU and the
 * standalone element-wise map.
 *
 * Reductions along a contiguous row (the max and sum of a softmax over the
 * last dimension, the moments of a LayerNorm) are split over LANES partial
 * results, lane j taking elements j, j+LANES, ...; the lanes are combined
 * at the end. Written so in the source, the lanes are independent
 * accumulators and the loop vectorises without the compiler having to
 * reassociate anything. A softmax over an inner dimension instead keeps a
 * block of columns' maxima and sums, the inner loop over those columns. */
#include <stdint.h>

#include "seqk.h"

#define LANES 16   /* partial results of a row reduction */
#define COLUMNS 64 /* columns per block of a softmax over an inner dim */

/* max that propagates NaN, as PyTorch's reductions do */
static inline float maxNaN(float m, float v) {
  return (v > m || v != v) ? v : m;
}

static float rowMax(const float *x, int64_t n) {
  float lane[LANES];
  for (int j = 0; j < LANES; ++j)
    lane[j] = -__builtin_inff();
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; ++j)
      lane[j] = maxNaN(lane[j], x[i + j]);
  float m = -__builtin_inff();
  for (int j = 0; j < LANES; ++j)
    m = maxNaN(m, lane[j]);
  for (; i < n; ++i)
    m = maxNaN(m, x[i]);
  return m;
}

/* sum of e^(x[i] - shift) over a row, in LANES partial sums; the
 * exponentials are stored to e unless it is NULL */
static float rowSumExp(const float *x, float *e, int64_t n,
                       float shift) {
  float lane[LANES];
  for (int j = 0; j < LANES; ++j)
    lane[j] = 0.0f;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; ++j) {
      float v = seqk_expf(x[i + j] - shift);
      if (e)
        e[i + j] = v;
      lane[j] += v;
    }
  float s = 0.0f;
  for (int j = 0; j < LANES; ++j)
    s += lane[j];
  for (; i < n; ++i) {
    float v = seqk_expf(x[i] - shift);
    if (e)
      e[i] = v;
    s += v;
  }
  return s;
}

/* softmax over a contiguous row: y = e^(x - max) / sum, or for log-softmax
 * y = (x - max) - log sum. A +inf in the row gives NaN (inf - inf), as in
 * PyTorch; so does a row of -inf. */
static void softmaxRow(const float *x, float *y, int64_t D,
                       int32_t log) {
  float m = rowMax(x, D);
  if (log) {
    float logSum = seqk_logf(rowSumExp(x, 0, D, m));
    for (int64_t i = 0; i < D; ++i)
      y[i] = (x[i] - m) - logSum;
  } else {
    float inv = 1.0f / rowSumExp(x, y, D, m);
    for (int64_t i = 0; i < D; ++i)
      y[i] *= inv;
  }
}

/* softmax over d of x[d*inner + i] for the n <= COLUMNS columns i */
static void softmaxColumns(const float *x, float *y,
                           int64_t D, int64_t inner, int64_t n, int32_t log) {
  float m[COLUMNS], s[COLUMNS];
  for (int64_t i = 0; i < n; ++i) {
    m[i] = -__builtin_inff();
    s[i] = 0.0f;
  }
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = 0; i < n; ++i)
      m[i] = maxNaN(m[i], x[d * inner + i]);
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = 0; i < n; ++i) {
      float e = seqk_expf(x[d * inner + i] - m[i]);
      if (!log)
        y[d * inner + i] = e;
      s[i] += e;
    }
  if (log) {
    for (int64_t i = 0; i < n; ++i)
      s[i] = seqk_logf(s[i]);
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < n; ++i)
        y[d * inner + i] = (x[d * inner + i] - m[i]) - s[i];
  } else {
    for (int64_t i = 0; i < n; ++i)
      s[i] = 1.0f / s[i];
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < n; ++i)
        y[d * inner + i] *= s[i];
  }
}

static inline void softmaxRange(const float *x, float *y, int64_t D,
                                int64_t inner, int32_t log, int64_t o0,
                                int64_t o1) {
  for (int64_t o = o0; o < o1; ++o) {
    const float *xo = x + o * D * inner;
    float *yo = y + o * D * inner;
    if (inner == 1) {
      softmaxRow(xo, yo, D, log);
      continue;
    }
    for (int64_t i = 0; i < inner; i += COLUMNS) {
      int64_t n = inner - i < COLUMNS ? inner - i : COLUMNS;
      softmaxColumns(xo + i, yo + i, D, inner, n, log);
    }
  }
}

/* In place (y == x) the body is specialised for one pointer, so that its
 * loops vectorise without run-time alias checks. */
void seqk_softmax(const float *x, float *y, int64_t D, int64_t inner,
                  int32_t log, int64_t o0, int64_t o1) {
  if (x == y)
    softmaxRange(y, y, D, inner, log, o0, o1);
  else
    softmaxRange(x, y, D, inner, log, o0, o1);
}

/* sum of (x[i] - shift)^2 over a row, in LANES partial sums */
static float rowSumSquares(const float *x, int64_t n, float shift) {
  float lane[LANES];
  for (int j = 0; j < LANES; ++j)
    lane[j] = 0.0f;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; ++j) {
      float d = x[i + j] - shift;
      lane[j] += d * d;
    }
  float s = 0.0f;
  for (int j = 0; j < LANES; ++j)
    s += lane[j];
  for (; i < n; ++i) {
    float d = x[i] - shift;
    s += d * d;
  }
  return s;
}

static float rowSum(const float *x, int64_t n) {
  float lane[LANES];
  for (int j = 0; j < LANES; ++j)
    lane[j] = 0.0f;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; ++j)
      lane[j] += x[i + j];
  float s = 0.0f;
  for (int j = 0; j < LANES; ++j)
    s += lane[j];
  for (; i < n; ++i)
    s += x[i];
  return s;
}

/* Two passes: the mean, then the biased variance as the mean of squared
 * deviations (no cancellation, unlike E[x^2] - E[x]^2). */
static inline void layernormRange(const float *x, float *y, int64_t D,
                                  const float *gamma, const float *beta,
                                  float eps, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * D;
    float *yr = y + r * D;
    float mean = rowSum(xr, D) / (float)D;
    float var = rowSumSquares(xr, D, mean) / (float)D;
    float rstd = 1.0f / __builtin_sqrtf(var + eps);
    if (gamma && beta)
      for (int64_t i = 0; i < D; ++i)
        yr[i] = (xr[i] - mean) * rstd * gamma[i] + beta[i];
    else if (gamma)
      for (int64_t i = 0; i < D; ++i)
        yr[i] = (xr[i] - mean) * rstd * gamma[i];
    else if (beta)
      for (int64_t i = 0; i < D; ++i)
        yr[i] = (xr[i] - mean) * rstd + beta[i];
    else
      for (int64_t i = 0; i < D; ++i)
        yr[i] = (xr[i] - mean) * rstd;
  }
}

void seqk_layernorm(const float *x, float *y, int64_t D, const float *gamma,
                    const float *beta, float eps, int64_t r0, int64_t r1) {
  if (x == y)
    layernormRange(y, y, D, gamma, beta, eps, r0, r1);
  else
    layernormRange(x, y, D, gamma, beta, eps, r0, r1);
}

/* x and y may be the same tensor (an in-place activation), so no restrict */
void seqk_map(const float *x, float *y, int64_t D, int64_t r0, int64_t r1,
              seqk_epilogue epi, const void *env) {
  for (int64_t r = r0; r < r1; ++r) {
    if (epi) {
      epi(env, r, 0, x + r * D, y + r * D, D);
    } else if (x != y) {
      for (int64_t i = 0; i < D; ++i)
        y[r * D + i] = x[r * D + i];
    }
  }
}

/* GroupNorm: row r of x is group g = r % G of its image, Cg channels of
 * `inner` elements each (D = Cg * inner contiguous floats); its moments
 * as LayerNorm's, then each channel scaled and shifted. */
static inline void groupnormRange(const float *x, float *y, int64_t G,
                                  int64_t Cg, int64_t inner,
                                  const float *gamma, const float *beta,
                                  float eps, int64_t r0, int64_t r1) {
  int64_t D = Cg * inner;
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * D;
    float *yr = y + r * D;
    float mean = rowSum(xr, D) / (float)D;
    float var = rowSumSquares(xr, D, mean) / (float)D;
    float rstd = 1.0f / __builtin_sqrtf(var + eps);
    int64_t c0 = (r % G) * Cg;
    for (int64_t c = 0; c < Cg; ++c) {
      float scale = gamma ? rstd * gamma[c0 + c] : rstd;
      float shift = (beta ? beta[c0 + c] : 0.0f) - mean * scale;
      const float *xc = xr + c * inner;
      float *yc = yr + c * inner;
      for (int64_t i = 0; i < inner; ++i)
        yc[i] = xc[i] * scale + shift;
    }
  }
}

void seqk_groupnorm(const float *x, float *y, int64_t G, int64_t Cg,
                    int64_t inner, const float *gamma, const float *beta,
                    float eps, int64_t r0, int64_t r1) {
  if (x == y)
    groupnormRange(y, y, G, Cg, inner, gamma, beta, eps, r0, r1);
  else
    groupnormRange(x, y, G, Cg, inner, gamma, beta, eps, r0, r1);
}

/* PReLU: row r is channel r % C; x > 0 ? x : slope * x (NaN stays NaN). */
void seqk_prelu(const float *x, float *y, int64_t C, int64_t inner,
                const float *w, int64_t nw, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float slope = w[nw == 1 ? 0 : r % C];
    const float *xr = x + r * inner;
    float *yr = y + r * inner;
    for (int64_t i = 0; i < inner; ++i)
      yr[i] = xr[i] > 0.0f ? xr[i] : slope * xr[i];
  }
}

/* shape.c: kernels that move or reduce elements without arithmetic of
 * their own: permute (transpose, permute) and reductions over a dim range
 * (sum, mean, amax), with PyTorch's CPU semantics (NaN propagates through
 * amax; sums accumulate in double, so the result is the correctly rounded
 * float of the sum in almost every case, as PyTorch's cascade sum is). */
#include <stdint.h>

#include "seqk.h"

void seqk_permute(const float *restrict x, float *restrict y, int64_t rank,
                  const int64_t *sizes, const int64_t *strides, int64_t r0,
                  int64_t r1) {
  int64_t L = sizes[rank - 1], sL = strides[rank - 1];
  for (int64_t r = r0; r < r1; ++r) {
    int64_t rest = r, offset = 0;
    for (int64_t d = rank - 2; d >= 1; --d) {
      offset += rest % sizes[d] * strides[d];
      rest /= sizes[d];
    }
    offset += rest * strides[0];
    const float *restrict src = x + offset;
    float *restrict dst = y + r * L;
    if (sL == 1)
      for (int64_t j = 0; j < L; ++j)
        dst[j] = src[j];
    else
      for (int64_t j = 0; j < L; ++j)
        dst[j] = src[j * sL];
  }
}

static inline float maxOf(float v, float m) { return (v > m || v != v) ? v : m; }

/* Chunks of a row of `inner` outputs accumulated at once, on the stack. */
#define SEQK_REDUCE_CHUNK 256

static void reduceRow(const float *restrict x, float *restrict y, int64_t R,
                      int64_t inner, int32_t op) {
  for (int64_t c0 = 0; c0 < inner; c0 += SEQK_REDUCE_CHUNK) {
    int64_t n = inner - c0 < SEQK_REDUCE_CHUNK ? inner - c0 : SEQK_REDUCE_CHUNK;
    if (op == SEQK_REDUCE_MAX || op == SEQK_REDUCE_MIN) {
      /* min(x) = -max(-x): negation is exact and keeps NaN a NaN. */
      float sign = op == SEQK_REDUCE_MIN ? -1.0f : 1.0f;
      float m[SEQK_REDUCE_CHUNK];
      for (int64_t j = 0; j < n; ++j)
        m[j] = -__builtin_inff();
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < n; ++j)
          m[j] = maxOf(sign * x[r * inner + c0 + j], m[j]);
      for (int64_t j = 0; j < n; ++j)
        y[c0 + j] = sign * m[j];
      continue;
    }
    double s[SEQK_REDUCE_CHUNK];
    for (int64_t j = 0; j < n; ++j)
      s[j] = 0.0;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < n; ++j)
        s[j] += (double)x[r * inner + c0 + j];
    for (int64_t j = 0; j < n; ++j)
      y[c0 + j] = op == SEQK_REDUCE_MEAN ? (float)(s[j] / (double)R) : (float)s[j];
  }
}

void seqk_reduce(const float *restrict x, float *restrict y, int64_t R,
                 int64_t inner, int32_t op, int64_t o0, int64_t o1) {
  for (int64_t o = o0; o < o1; ++o)
    reduceRow(x + o * R * inner, y + o * inner, R, inner, op);
}

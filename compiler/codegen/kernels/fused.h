/* fused.h: a seqk_fused epilogue (seqk.h) applied to a vector of 16
 * outputs in registers, by the packed convolution kernels (convpack.c)
 * before they store a tile. Internal to the kernel library.
 *
 * Each step is written in vectors with the operations of the scalar
 * kernel that a generated epilogue would call (math.c), in the same
 * order and with the same contractions, so that the outputs are the same
 * bits either way: x + bias, x + add, then seqk_reluf, seqk_hardtanhf,
 * seqk_siluf or seqk_hardswishf. A select is written with masks: C has
 * no ?: on vectors, and a mask select keeps NaN where the ternary does. */
#ifndef SEQK_FUSED_H
#define SEQK_FUSED_H

#include "seqk.h"
#include "tile.h"

typedef int32_t seqkVecI __attribute__((vector_size(64)));

/* mask ? a : b, lane by lane (vectors travel by pointer or in macros:
 * passed by value they would change the ABI where AVX-512 is off) */
#define FUSED_SELECT(mask, a, b)                                             \
  ((seqkVec)(((mask) & (seqkVecI)(a)) | (~(mask) & (seqkVecI)(b))))
#define FUSED_SPLAT(v) ((seqkVec){0} + (v))

/* seqk_hardtanhf: t = x < lo ? lo : x; t > hi ? hi : t */
SEQK_INLINE void fusedHardtanh(seqkVec *x, float lo, float hi) {
  seqkVec l = FUSED_SPLAT(lo), h = FUSED_SPLAT(hi);
  seqkVec t = FUSED_SELECT(*x < l, l, *x);
  *x = FUSED_SELECT(t > h, h, t);
}

/* math.c's onePlusExpClamped(c, neg): 1 + e^c (e^-c when neg) for c
 * already clamped (Cody-Waite reduction, of -c without -c when neg;
 * expPolyShort's polynomial; s = 2^(n-1) from the rounded sum's bits;
 * 2 (s q + (s + 1/2)), a multiply-add and two adds). */
SEQK_INLINE void fusedOnePlusExp(seqkVec *pc, int neg) {
  const float log2e = 1.44269504f, ln2Hi = 0.693359375f,
              ln2Lo = -2.12194440e-4f, shifter = 12583038.0f;
  seqkVec c = *pc;
  seqkVec z = c * (neg ? -log2e : log2e) + shifter;
  seqkVec nf = z - shifter;
  seqkVec r = neg ? -(c + nf * ln2Hi) : c - nf * ln2Hi;
  r = r - nf * ln2Lo;
  seqkVec p = FUSED_SPLAT(8.31277855e-3f);
  p = p * r + 4.18904237e-2f;
  p = p * r + 1.66671127e-1f;
  p = p * r + 4.99992281e-1f;
  seqkVec q = r + (r * r) * p;
  seqkVec s = (seqkVec)((seqkVecI)z << 23);
  seqkVec h = q * s + (s + 0.5f);
  *pc = h + h;
}

/* seqk_siluf: x / onePlusExpNormalNeg(x), x clamped to [-89, 86.5]. */
SEQK_INLINE void fusedSilu(seqkVec *px) {
  seqkVec c = *px;
  c = FUSED_SELECT(c < -89.0f, FUSED_SPLAT(-89.0f), c);
  c = FUSED_SELECT(c > 86.5f, FUSED_SPLAT(86.5f), c);
  fusedOnePlusExp(&c, 1);
  *px = *px / c;
}

/* seqk_tanhf: em / (em + 2) with the sign of x, em = e^2|x| - 1 = 2^n q
 * + (2^n - 1) (2|x| clamped to 20; Cody-Waite reduction, expPoly's
 * polynomial, 2^n from the rounded sum's bits). */
SEQK_INLINE void fusedTanh(seqkVec *px) {
  const float log2e = 1.44269504f, ln2Hi = 0.693359375f,
              ln2Lo = -2.12194440e-4f, shifter = 12583039.0f;
  const seqkVecI magnitude = (seqkVecI){0} + 0x7fffffff;
  seqkVec x = *px;
  seqkVec e = (seqkVec)((seqkVecI)x & magnitude) * 2.0f;
  e = FUSED_SELECT(e > 20.0f, FUSED_SPLAT(20.0f), e);
  seqkVec z = e * log2e + shifter;
  seqkVec nf = z - shifter;
  seqkVec r = e - nf * ln2Hi;
  r = r - nf * ln2Lo;
  seqkVec p = FUSED_SPLAT(1.98909809e-4f);
  p = p * r + 1.39336416e-3f;
  p = p * r + 8.33331048e-3f;
  p = p * r + 4.16664667e-2f;
  p = p * r + 1.66666672e-1f;
  p = p * r + 0.5f;
  seqkVec q = r + (r * r) * p;
  seqkVec s = (seqkVec)((seqkVecI)z << 23);
  seqkVec em = q * s + (s - 1.0f);
  seqkVec t = em / (em + 2.0f);
  *px = (seqkVec)(((seqkVecI)t & magnitude) | ((seqkVecI)x & ~magnitude));
}

/* seqk_hardswishf: x * clamp(x + 3, 0, 6) / 6 */
SEQK_INLINE void fusedHardswish(seqkVec *px) {
  seqkVec x = *px, t = x + 3.0f;
  t = FUSED_SELECT(t < 0.0f, FUSED_SPLAT(0.0f), t);
  t = FUSED_SELECT(t > 6.0f, FUSED_SPLAT(6.0f), t);
  *px = x * t / 6.0f;
}

/* Whether f's activation is a clamp to [lo, hi] (seqk_hardtanhf: ReLU
 * is the clamp to [0, inf], none the clamp to [-inf, inf], the same bits
 * in both, NaN and -0 included), which fusedClamp applies in registers. */
SEQK_INLINE int fusedIsClamp(const seqk_fused *f, float *lo, float *hi) {
  switch (f->act) {
  case SEQK_ACT_NONE: *lo = -__builtin_inff(), *hi = __builtin_inff(); return 1;
  case SEQK_ACT_RELU: *lo = 0.0f, *hi = __builtin_inff(); return 1;
  case SEQK_ACT_HARDTANH: *lo = f->lo, *hi = f->hi; return 1;
  default: return 0;
  }
}

/* -0.0f, which added to any float gives it back (-0 and NaN included):
 * the missing bias and tensor of fusedClamp. */
static const float fusedNegZero[16] __attribute__((aligned(64))) = {
    -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f,
    -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f};

/* f's epilogue when its activation is a clamp (fusedIsClamp), in place,
 * on the 16 outputs of channel m at x whose elements of f->add (when
 * there is one) start at add: without a branch, a missing bias or tensor
 * adding -0 (small code in each of the tiles it is inlined into). */
SEQK_INLINE void fusedClamp(const seqk_fused *f, seqkVec *x, int64_t m,
                            const float *add, float lo, float hi) {
  const float *bias = f->bias ? f->bias + m : fusedNegZero;
  const float *tensor = f->add ? add : fusedNegZero;
  *x = (*x + *bias) + *(const seqkVecU *)tensor;
  fusedHardtanh(x, lo, hi);
}

/* f's epilogue, in place, on the vectors v[0..n) of 16 outputs each:
 * vector k is output channel m + k / per, and its elements of f->add
 * (when there is one) start at add + k / per * addRow + k % per * 16.
 * One rolled loop per step, the step chosen once: the caller's
 * accumulators stay in registers, and each loop body is one vector's
 * work. */
SEQK_INLINE void fusedApply(const seqk_fused *f, seqkVec *v, int n, int per,
                            int64_t m, const float *add, int64_t addRow) {
  if (f->bias || f->add)
    SEQK_ROLLED
    for (int k = 0; k < n; ++k) {
      seqkVec x = v[k];
      if (f->bias)
        x = x + f->bias[m + k / per];
      if (f->add)
        x = x + *(const seqkVecU *)(add + k / per * addRow + k % per * 16);
      v[k] = x;
    }
  switch (f->act) {
  case SEQK_ACT_RELU:
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      v[k] = FUSED_SELECT(v[k] < 0.0f, FUSED_SPLAT(0.0f), v[k]);
    break;
  case SEQK_ACT_HARDTANH:
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      fusedHardtanh(&v[k], f->lo, f->hi);
    break;
  case SEQK_ACT_SILU:
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      fusedSilu(&v[k]);
    break;
  case SEQK_ACT_HARDSWISH:
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      fusedHardswish(&v[k]);
    break;
  case SEQK_ACT_TANH:
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      fusedTanh(&v[k]);
    break;
  default:
    break;
  }
}

/* fusedApply, compiled once per kernel file (inlined into each tile width
 * that calls it, SiLU's and Hardswish's loops made the pooled kernels of
 * every model with a pointwise or Winograd convolution compile 6%
 * longer): add with f->rowStride floats between channels. */
typedef void (*FusedApplyFn)(const seqk_fused *f, seqkVec *v, int n, int per,
                             int64_t m, const float *add);

/* f on a lanes tile (tile.h's LanesAcc: channel i, output channel m + i,
 * in V vectors of 16 consecutive positions), its channels [0, nch) only,
 * its elements of f->add (if any) from `add` on: a clamp in registers,
 * else through memory by `apply` in one rolled loop (the accumulators
 * stay registers). */
SEQK_INLINE void fusedLanes(const seqk_fused *f, LanesAcc acc, int64_t m,
                            int64_t nch, int V, const float *add,
                            FusedApplyFn apply) {
  float lo, hi;
  if (fusedIsClamp(f, &lo, &hi)) {
    SEQK_UNROLL
    for (int i = 0; i < LANES_CH; ++i) {
      if (i >= nch)
        break;
      SEQK_UNROLL
      for (int v = 0; v < V; ++v)
        fusedClamp(f, &acc[i][v], m + i, add ? add + i * f->rowStride + 16 * v : 0, lo, hi);
    }
    return;
  }
  seqkVec out[LANES_CH * 3];
  SEQK_UNROLL
  for (int i = 0; i < LANES_CH; ++i)
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      out[i * V + v] = acc[i][v];
  apply(f, out, (int)nch * V, V, m, add);
  SEQK_UNROLL
  for (int i = 0; i < LANES_CH; ++i)
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      acc[i][v] = out[i * V + v];
}

/* The element of f->add that the epilogue numbers (row, col). */
SEQK_INLINE const float *fusedAddAt(const seqk_fused *f, int64_t row,
                                    int64_t col) {
  return f->add ? f->add + (f->rowBase + row) * f->rowStride + col : 0;
}

#endif

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

/* math.c's expReduced(x, -0.0f, shifter, &z, shortPoly, neg): in *px x
 * (Cody-Waite reduction of x, or of -x without -x when neg), out *px q =
 * e^r - 1 (expPolyShort's polynomial or expPoly's) and *pz the rounded
 * sum z, whose low mantissa bits hold n. Each step a statement of its
 * own, as in math.c (-ffp-contract=on contracts within one): the same
 * multiply-adds, the same bits. */
SEQK_INLINE void fusedExpReduced(seqkVec *px, seqkVec *pz, float shifter,
                                 int shortPoly, int neg) {
  const float log2e = 1.44269504f, ln2Hi = 0.693359375f,
              ln2Lo = -2.12194440e-4f;
  seqkVec x = *px;
  seqkVec z = x * (neg ? -log2e : log2e) + shifter;
  seqkVec nf = z - shifter;
  seqkVec r = neg ? -(x + nf * ln2Hi) : x - nf * ln2Hi;
  r = r - nf * ln2Lo;
  seqkVec p;
  if (shortPoly) {
    p = FUSED_SPLAT(8.31277855e-3f);
    p = p * r + 4.18904237e-2f;
    p = p * r + 1.66671127e-1f;
    p = p * r + 4.99992281e-1f;
  } else {
    p = FUSED_SPLAT(1.98909809e-4f);
    p = p * r + 1.39336416e-3f;
    p = p * r + 8.33331048e-3f;
    p = p * r + 4.16664667e-2f;
    p = p * r + 1.66666672e-1f;
    p = p * r + 0.5f;
  }
  *px = r + (r * r) * p;
  *pz = z;
}

/* seqk_siluf: x / onePlusExpNormalNeg(x): x clamped to [-89, 86.5], 1 +
 * e^-x = 2 (s q + (s + 1/2)) with s = 2^(n-1) from z's bits. */
SEQK_INLINE void fusedSilu(seqkVec *px) {
  seqkVec q = *px, z;
  q = FUSED_SELECT(q < -89.0f, FUSED_SPLAT(-89.0f), q);
  q = FUSED_SELECT(q > 86.5f, FUSED_SPLAT(86.5f), q);
  fusedExpReduced(&q, &z, 12583038.0f /* ROUND_SHIFTER_126 */, 1, 1);
  seqkVec s = (seqkVec)((seqkVecI)z << 23);
  seqkVec h = q * s + (s + 0.5f);
  *px = *px / (h + h);
}

/* seqk_tanhf: em / (em + 2) with the sign of x, em = e^2|x| - 1 = 2^n q
 * + (2^n - 1) (2|x| clamped to 20; 2^n from z's bits). */
SEQK_INLINE void fusedTanh(seqkVec *px) {
  const seqkVecI magnitude = (seqkVecI){0} + 0x7fffffff;
  seqkVec x = *px, z;
  seqkVec q = (seqkVec)((seqkVecI)x & magnitude) * 2.0f;
  q = FUSED_SELECT(q > 20.0f, FUSED_SPLAT(20.0f), q);
  fusedExpReduced(&q, &z, 12583039.0f /* ROUND_SHIFTER_127 */, 0, 0);
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

/* The activations that are not clamps (SiLU, Hardswish, Tanh; none else
 * does anything), on v[0..n), one rolled loop each: fusedApply's and the
 * fused expansion's (dwexpand.c). */
SEQK_INLINE void fusedCurve(int32_t act, seqkVec *v, int n) {
  switch (act) {
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
  default:
    fusedCurve(f->act, v, n);
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

/* The bias (if any) and the curve of f on v[0..n), channels in the lanes,
 * in rolled loops (fusedChannelLanes). */
SEQK_INLINE void fusedCurveLanes(const seqk_fused *f, seqkVec *v, int n,
                                 const float *bias) {
  if (f->bias)
    SEQK_ROLLED
    for (int k = 0; k < n; ++k)
      v[k] = v[k] + *(const seqkVec *)bias;
  fusedCurve(f->act, v, n);
}

/* f's epilogue (f may be NULL: none) on n <= 16 vectors that each hold
 * 16 channels (channels in the lanes: dwexpand.c, dwlanes.c), whose
 * biases are at `bias` (16 floats, 64-byte aligned), in place: a clamp
 * unrolled, in registers; SiLU, Hardswish and Tanh in rolled loops, over
 * a copy where the vectors are the caller's registers (indexed at run
 * time there, they would live in memory, each multiply-add of the
 * caller's loops followed by a store), on the vectors themselves where
 * they are in memory already (`inMemory`, a constant: a tile that an asm
 * or a transpose keeps there, whose copy was two calls of memcpy of 1 KB
 * a block). */
SEQK_INLINE void fusedChannelLanes(const seqk_fused *f, seqkVec *v, int n,
                                   const float *bias, int inMemory) {
  if (!f)
    return;
  float lo, hi;
  if (fusedIsClamp(f, &lo, &hi)) {
    SEQK_UNROLL
    for (int k = 0; k < n; ++k) {
      seqkVec x = v[k];
      if (f->bias)
        x = x + *(const seqkVec *)bias;
      fusedHardtanh(&x, lo, hi);
      v[k] = x;
    }
    return;
  }
  if (inMemory) {
    fusedCurveLanes(f, v, n, bias);
    return;
  }
  seqkVec t[16];
  SEQK_UNROLL
  for (int k = 0; k < n; ++k)
    t[k] = v[k];
  fusedCurveLanes(f, t, n, bias);
  SEQK_UNROLL
  for (int k = 0; k < n; ++k)
    v[k] = t[k];
}

#endif
